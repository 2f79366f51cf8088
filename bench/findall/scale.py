#!/usr/bin/env python3
"""FindAll at scale: one `pro` run with match_limit 1000 over a generated corpus on the local index.

Generates (into a temporary directory, never committed) a corpus of invented beekeeping
co-operatives of the invented county of Marrowdale: --entities entity pages (default 1,100), each
stating how many hives the co-operative keeps, about --matching of them (default 1,000) more than
20 and the rest 20 or fewer, plus directory pages listing them (--per-directory links each,
default 30) and an index of the directories. Serves and indexes it (bench/eval/run.py's
machinery, via common.Stack), creates one FindAll run ("more than 20 hives", generator `pro`,
match_limit 1000) and follows its SSE event stream: it disconnects after --disconnect-after
events (default 300), resumes with last_event_id, and once the run has ended compares every event
id received with a fresh full read of the stream (ids must be 1..N, consecutive, none lost, none
repeated). Meanwhile it samples the server's peak RSS (VmHWM of /proc/<pid>/status).

Prints time to completion, candidates generated and matched (and how many of the matched are
truly matching co-operatives), events, peak RSS, and PASS/FAIL for: completed, 1,000 matched,
stream resumed without loss or repetition, peak RSS < 200 MB.

    python3 bench/findall/scale.py [--binary B] [--skip-build] [--keep] [--entities 1100] [--matching 1000]

Standard library only. Exits 0 when the bench ran (targets met or not), 2 when it could not be set up.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import evalrun  # noqa: E402

DEFAULT_BINARY = os.path.join(common.REPO, "target", "release", "parallax")
RSS_LIMIT_MB = 200.0
TERMINAL = ("completed", "failed", "cancelled")

SYL_A = ["Ash", "Bram", "Cal", "Dun", "Elm", "Fen", "Gar", "Hol", "Ivy", "Kel", "Lark", "Mor", "Nor", "Oak", "Pen",
         "Quarr", "Ros", "Sal", "Thorn", "Ul", "Vell", "Wen", "Yar", "Ast", "Brin", "Cor", "Dray", "Esk",
         "Bar", "Chel", "Derr", "Fal", "Glen", "Hart", "Ket", "Lin", "Mar", "Nettle", "Orm", "Pil", "Rush", "Stan",
         "Tarn", "Whin", "Alder", "Beck"]
SYL_B = ["by", "combe", "dale", "field", "ford", "gate", "ham", "holt", "hurst", "leigh", "mere", "moor", "stead",
         "thwaite", "ton", "well", "wick", "worth", "brook", "cote", "den", "ridge", "shaw", "stow", "wold"]
KINDS = ["Beekeepers' Co-operative", "Honey Co-operative", "Apiary Co-operative", "Bee Co-operative"]


def log(msg):
    print("[scale] " + msg, file=sys.stderr, flush=True)


def generate(root, n, matching, per_dir, seed=7):
    """Writes the corpus under root/marrowdale/…, and root/sitemap.xml. Returns the co-operatives
    as a list of (name, rel path, hives)."""
    rnd = random.Random(seed)
    places = [a + b for a in SYL_A for b in SYL_B]
    rnd.shuffle(places)
    if n > len(places) * len(KINDS):
        raise SystemExit("at most %d entities" % (len(places) * len(KINDS)))
    coops = []
    for i in range(n):
        place, kind = places[i % len(places)], KINDS[(i // len(places)) % len(KINDS)]
        hives = rnd.randint(21, 320) if i < matching else rnd.randint(3, 20)
        coops.append(("%s %s" % (place, kind), "marrowdale/coops.example/c/%04d.html" % i, hives, place))
    rnd.shuffle(coops)
    head = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%s</title></head><body>'
            '<div class="cookie-banner">We use cookies. <button>OK</button></div>'
            '<header><nav><a href="/marrowdale/coops.example/index.html">Marrowdale Co-operatives</a> | '
            '<a href="#about">About</a></nav></header><main><h1>%s</h1>')
    foot = '</main><footer><p>&copy; Marrowdale Beekeeping Association</p></footer></body></html>\n'
    rels = []
    for name, rel, hives, place in coops:
        phrase = rnd.choice(["keeps %d hives", "looks after %d hives", "has %d hives"]) % hives
        body = ("<p>The %s is a beekeepers' co-operative based in %s, a village in Marrowdale. "
                "Its members %s on farms and orchards around the village.</p>"
                "<p>The co-operative %s and sells its honey at the Marrowdale market.</p>") % (
            name, place, rnd.choice(["share equipment", "meet monthly", "run a training apiary"]), phrase)
        write(root, rel, head % (name, name) + body + foot)
        rels.append(rel)
    dirs = []
    for d in range(0, len(coops), per_dir):
        rel = "marrowdale/coops.example/directory/%03d.html" % (d // per_dir + 1)
        items = "".join('<li><a href="/%s">%s</a> &ndash; %s, Marrowdale</li>' % (r, nm, pl)
                        for nm, r, _, pl in coops[d:d + per_dir])
        title = "Beekeeping co-operatives of Marrowdale, page %d" % (d // per_dir + 1)
        write(root, rel, head % (title, title) + "<ul>%s</ul>" % items + foot)
        dirs.append(rel)
    idx = "marrowdale/coops.example/index.html"
    write(root, idx, head % ("Marrowdale Co-operatives", "Marrowdale beekeeping co-operatives") +
          "<ul>%s</ul>" % "".join('<li><a href="/%s">Directory page %d</a></li>' % (r, i + 1) for i, r in enumerate(dirs)) + foot)
    with open(os.path.join(root, "sitemap.xml"), "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n')
        for r in [idx] + dirs + rels:
            f.write("  <url><loc>http://FIXTURE_HOST/%s</loc></url>\n" % r)
        f.write("</urlset>\n")
    log("generated %d co-operative pages (%d with more than 20 hives), %d directory pages, in %s" % (
        len(rels), sum(1 for c in coops if c[2] > 20), len(dirs), root))
    return coops


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class RssSampler(threading.Thread):
    """Samples VmHWM (peak resident set) and VmRSS of a process every `every` seconds."""

    def __init__(self, pid, every=0.25):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_kb, self.stop_ = pid, every, 0, threading.Event()

    def sample(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(("VmHWM:", "VmRSS:")):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass

    def run(self):
        while not self.stop_.is_set():
            self.sample()
            self.stop_.wait(self.every)


def read_stream(api, fid, last_event_id=None, stop_after=None, timeout=600):
    """Reads the run's SSE stream until it ends (or after `stop_after` real events, then
    disconnects). Returns (events with an id, heartbeats seen, whether it ended by itself)."""
    path = "/v1beta/findall/runs/%s/events?timeout=%d" % (fid, timeout)
    if last_event_id is not None:
        path += "&last_event_id=%s" % last_event_id
    conn = http.client.HTTPConnection(api.host, api.port, timeout=timeout + 60)
    events, heartbeats = [], 0
    try:
        conn.request("GET", path, headers={"x-api-key": api.key, "accept": "text/event-stream"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise evalrun.SetupError("events answered %s: %s" % (resp.status, resp.read()[:300]))
        sse_id, data = None, []
        while True:
            line = resp.readline()
            if not line:
                return events, heartbeats, True
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    try:
                        ev = json.loads("\n".join(data))
                    except ValueError:
                        ev = {"type": "unparsed"}
                    if sse_id is None or "-hb-" in str(ev.get("event_id", "")):
                        heartbeats += 1
                    else:
                        events.append({"id": sse_id, "event_id": ev.get("event_id"), "type": ev.get("type"),
                                       "data": ev.get("data")})
                        if stop_after is not None and len(events) >= stop_after:
                            return events, heartbeats, False
                sse_id, data = None, []
            elif line.startswith("id:"):
                sse_id = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=DEFAULT_BINARY)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the generated corpus and the data directory")
    ap.add_argument("--entities", type=int, default=1100)
    ap.add_argument("--matching", type=int, default=1000)
    ap.add_argument("--per-directory", type=int, default=30)
    ap.add_argument("--disconnect-after", type=int, default=300)
    ap.add_argument("--match-limit", type=int, default=1000)
    ap.add_argument("--generator", default="pro")
    ap.add_argument("--run-timeout", type=float, default=1800.0)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()

    if not args.skip_build:
        evalrun.build()
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        raise evalrun.SetupError("no parallax binary at %s" % args.binary)
    web = tempfile.mkdtemp(prefix="parallax-findall-scale-web-")
    out = {"binary": args.binary, "commit": common.commit(), "machine": evalrun.machine(),
           "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        coops = generate(web, args.entities, args.matching, args.per_directory)
        truly = {common.norm_name(c[0]) for c in coops if c[2] > 20}
        with common.Stack(args.binary, web, keep=args.keep, log=log, prefix="parallax-findall-scale-") as stack:
            served, answer = stack.findall_served()
            if not served:
                raise evalrun.SetupError("the server does not serve FindAll (POST /v1beta/findall/runs answered %s)" % (answer,))
            out["index"] = stack.index
            sampler = RssSampler(stack.server.proc.pid)
            sampler.sample()
            out["rss_before_run_mb"] = sampler.peak_kb / 1024
            sampler.start()
            body = {"objective": "Find beekeeping co-operatives in Marrowdale that keep more than 20 hives",
                    "entity_type": "beekeeping co-operatives",
                    "match_conditions": [{"name": "more_than_20_hives",
                                          "description": "The co-operative keeps more than 20 hives"}],
                    "generator": args.generator, "match_limit": args.match_limit}
            t0 = time.monotonic()
            status, run = stack.api.request("POST", "/v1beta/findall/runs", body)
            if status != 200:
                raise evalrun.SetupError("create answered %s: %s" % (status, run))
            fid = run["findall_id"]
            log("run %s created; following its events" % fid)
            first, hb1, ended1 = read_stream(stack.api, fid, stop_after=args.disconnect_after)
            log("disconnected after %d events (last id %s)" % (len(first), first[-1]["id"] if first else None))
            received, heartbeats, reconnects = list(first), hb1, 0
            ended, cancelled = ended1, False
            while not (ended and run_ended(stack.api, fid)):
                if time.monotonic() - t0 > args.run_timeout and not cancelled:
                    stack.api.request("POST", "/v1beta/findall/runs/%s/cancel" % fid)
                    log("run still active after %.0f s: cancelled" % args.run_timeout)
                    cancelled = True
                last = received[-1]["id"] if received else None
                more, hb, ended = read_stream(stack.api, fid, last_event_id=last)
                received += more
                heartbeats += hb
                reconnects += 1
                if not more:
                    time.sleep(0.2)
            elapsed = time.monotonic() - t0
            sampler.stop_.set()
            sampler.join()
            sampler.sample()
            st, result = stack.api.request("GET", "/v1beta/findall/runs/%s/result" % fid)
            runinfo = result.get("run") or {}
            full, _, _ = read_stream(stack.api, fid)
            ids = [e["id"] for e in received]
            full_ids = [e["id"] for e in full]
            consecutive = full_ids == [str(i) for i in range(1, len(full_ids) + 1)]
            lossless = ids == full_ids
            cands = result.get("candidates") or []
            matched = [c for c in cands if c.get("match_status") == "matched"]
            true_matched = sum(1 for c in matched if common.norm_name(c.get("name")) in truly)
            s = runinfo.get("status") or {}
            try:
                server_secs = evalrun.parse_ts(runinfo["modified_at"]) - evalrun.parse_ts(runinfo["created_at"])
            except (KeyError, TypeError, ValueError):
                server_secs = None
            out.update({
                "findall_id": fid, "status": s.get("status"), "termination_reason": s.get("termination_reason"),
                "metrics": s.get("metrics"), "seconds": elapsed, "server_seconds": server_secs,
                "candidates": len(cands), "matched": len(matched), "matched_truly_matching": true_matched,
                "distinct_matched_names": len({common.norm_name(c.get("name")) for c in matched}),
                "events_received": len(ids), "events_in_log": len(full_ids), "first_connection_events": len(first),
                "reconnects": reconnects, "heartbeats": heartbeats,
                "ids_consecutive": consecutive, "resumed_without_loss_or_repeat": lossless,
                "matched_events": sum(1 for e in full if e["type"] == "findall.candidate.matched"),
                "peak_rss_mb": sampler.peak_kb / 1024, "panics": stack.server.panics()})
            if not lossless:
                lost = sorted(set(full_ids) - set(ids), key=int)
                rep = sorted({i for i in ids if ids.count(i) > 1}, key=int)
                out["lost_ids"], out["repeated_ids"] = lost[:50], rep[:50]
    finally:
        if args.keep:
            log("kept the generated corpus in %s" % web)
        else:
            shutil.rmtree(web, ignore_errors=True)
    report(out, args)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    return 0


def run_ended(api, fid):
    st, run = api.request("GET", "/v1beta/findall/runs/%s" % fid)
    return st == 200 and ((run.get("status") or {}).get("status") in TERMINAL)


def report(o, args):
    m = o["machine"]
    print("FindAll scale bench, commit %s, binary %s; %s cores, %s, load %s" % (
        o["commit"], o["binary"], m["nproc"], m["cpu"], m["loadavg_at_start"]))
    print("corpus: %d co-operative pages (%d matching) + directories; indexed %d page(s) in %.1f s" % (
        args.entities, args.matching, o["index"]["indexed"], o["index"]["seconds"]))
    print("run: generator %s, match_limit %d -> %s (%s) in %.1f s (server: %s s)" % (
        args.generator, args.match_limit, o["status"], o["termination_reason"], o["seconds"],
        "%.1f" % o["server_seconds"] if o["server_seconds"] is not None else "?"))
    print("candidates: %d generated, %d matched (%d distinct names, %d truly matching), metrics %s" % (
        o["candidates"], o["matched"], o["distinct_matched_names"], o["matched_truly_matching"], json.dumps(o["metrics"])))
    print("events: %d in the log; received %d over %d connection(s) (first one cut after %d), %d heartbeat(s); "
          "ids 1..N consecutive: %s; received == log: %s" % (
              o["events_in_log"], o["events_received"], o["reconnects"] + 1, o["first_connection_events"], o["heartbeats"],
              o["ids_consecutive"], o["resumed_without_loss_or_repeat"]))
    if o.get("lost_ids") or o.get("repeated_ids"):
        print("  lost ids %s; repeated ids %s" % (o.get("lost_ids"), o.get("repeated_ids")))
    print("peak RSS (VmHWM): %.1f MB (%.1f MB before the run)%s" % (
        o["peak_rss_mb"], o["rss_before_run_mb"], "; server panics: %d" % o["panics"] if o["panics"] else ""))
    checks = [("run completed", o["status"] == "completed"),
              ("%d matched" % args.match_limit, o["matched"] >= args.match_limit),
              ("stream resumed: nothing lost, nothing repeated", o["ids_consecutive"] and o["resumed_without_loss_or_repeat"]),
              ("peak RSS < %.0f MB" % RSS_LIMIT_MB, o["peak_rss_mb"] < RSS_LIMIT_MB)]
    for label, ok in checks:
        print("  %-48s %s" % (label, "PASS" if ok else "FAIL"))
    if o["matched"] < args.match_limit:
        print("NOTE: the run matched %d, not %d: it ended with %s after generating %d candidates "
              "(generator page budget or evaluation stopping rule; see the metrics above)." % (
                  o["matched"], args.match_limit, o["termination_reason"], o["candidates"]))


if __name__ == "__main__":
    def on_sigterm(*_):
        for s in evalrun.SERVERS:
            s.stop()
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main())
    except evalrun.SetupError as e:
        log("setup failed: %s" % e)
        sys.exit(2)
    except KeyboardInterrupt:
        for s in evalrun.SERVERS:
            s.stop()
        sys.exit(130)
