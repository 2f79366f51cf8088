#!/usr/bin/env python3
"""Evaluate Parallax's FindAll on the invented-entity corpus bench/findall/web/.

Serves the corpus on a loopback port, indexes it into a temporary data directory, starts
`parallax serve` on it (no LLM: every PARALLAX_* variable is removed from its environment), runs
every query of bench/findall/queries.json of the chosen part (dev, held-out or all; the split is
by world, see common.held_out_worlds) once per generator, waits for each run to end, fetches its
result and scores it against the query's gold set: entity recall, precision, duplicate rate,
citation support and time per run. Held-out results are totals only, and every run that asks
held-out queries appends one line to bench/findall/HELD-OUT-LOG.md. See bench/findall/README.md.

    python3 bench/findall/run.py [--generators preview,base,core,pro] [--part dev|held-out|all]
                                 [--json OUT] [--skip-build] [--binary B] [--keep] [--dry-run]
                                 [--set default|dev2]

`--set dev2` serves and indexes bench/findall/dev2/web instead, with dev2/queries.json: a dev-only
corpus in which every world is dev (no held-out part; it never writes HELD-OUT-LOG.md).

Standard library only (plus bench/eval/run.py, loaded by common.py). Exits 0 when the evaluation
ran (whether or not the targets are met), 2 when it could not be set up.
"""
import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import evalrun  # noqa: E402

DEFAULT_BINARY = os.path.join(common.REPO, "target", "release", "parallax")
DEFAULT_GENERATORS = "preview,base,core,pro"
PARTS = ("dev", "held-out")

# Targets (no LLM), for `core`, on each part asked.
TARGET_GENERATOR = "core"
TARGET_RECALL = 0.8
TARGET_PRECISION = 0.9
TARGET_DUPLICATES = 0.02  # at most
TARGET_CITATION_SUPPORT = 1.0

TERMINAL = ("completed", "failed", "cancelled")


def log(msg):
    print("[findall] " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# One run


def run_query(api, generator, q, match_limit, run_timeout):
    """Creates one FindAll run for query `q`, waits for it to end (polling GET …/runs/{id}; a
    run still active after `run_timeout` s is cancelled and counted failed), and fetches its
    result. Returns a record."""
    body = {"objective": q["objective"], "entity_type": q["entity_type"],
            "match_conditions": q["match_conditions"], "generator": generator, "match_limit": match_limit,
            "metadata": {"bench": "findall", "query": q["id"]}}
    rec = {"id": q["id"], "generator": generator, "error": None, "findall_id": None, "status": None,
           "termination_reason": None, "metrics": None, "candidates": [], "seconds": None,
           "server_seconds": None}
    t0 = time.monotonic()
    status, created = api.request("POST", "/v1beta/findall/runs", body)
    if status != 200 or not isinstance(created, dict) or "findall_id" not in created:
        rec["error"] = "create answered %s: %s" % (status, json.dumps(created)[:400])
        return rec
    fid = rec["findall_id"] = created["findall_id"]
    run = created
    delay = 0.05
    while True:
        st = (run.get("status") or {}).get("status")
        if st in TERMINAL:
            break
        if time.monotonic() - t0 > run_timeout:
            api.request("POST", "/v1beta/findall/runs/%s/cancel" % fid)
            rec["error"] = "still %s after %.0f s (cancelled)" % (st, run_timeout)
            break
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)
        status, got = api.request("GET", "/v1beta/findall/runs/%s" % fid)
        if status != 200 or not isinstance(got, dict):
            rec["error"] = "GET run answered %s: %s" % (status, json.dumps(got)[:300])
            break
        run = got
    rec["seconds"] = time.monotonic() - t0
    status, result = api.request("GET", "/v1beta/findall/runs/%s/result" % fid)
    if status != 200 or not isinstance(result, dict):
        rec["error"] = rec["error"] or "result answered %s: %s" % (status, json.dumps(result)[:300])
        return rec
    run = result.get("run") or run
    s = run.get("status") or {}
    rec["status"], rec["termination_reason"], rec["metrics"] = s.get("status"), s.get("termination_reason"), s.get("metrics")
    if rec["status"] == "failed" and not rec["error"]:
        rec["error"] = "run failed (%s)" % rec["termination_reason"]
    try:
        rec["server_seconds"] = evalrun.parse_ts(run["modified_at"]) - evalrun.parse_ts(run["created_at"])
    except (KeyError, TypeError, ValueError):
        pass
    rec["candidates"] = result.get("candidates") or []
    return rec


# --------------------------------------------------------------------------------------------
# Scoring


def gold_of(cand, q):
    """The index of the gold entity a candidate is (by normalised name or alias, or by URL), or None."""
    name = common.norm_name(cand.get("name") or "")
    rel = common.url_rel(cand.get("url"))
    for i, g in enumerate(q["gold"]):
        if name and name in {common.norm_name(n) for n in [g["name"]] + g.get("aliases", [])}:
            return i
        if g.get("url") and rel is not None and rel == common.norm_rel(g["url"]):
            return i
    return None


def negative_of(cand, q):
    name = common.norm_name(cand.get("name") or "")
    return next((n for n in q.get("negatives", []) if common.norm_name(n["name"]) == name), None)


def cited_rels(basis, field, port):
    out = []
    for entry in basis or []:
        if entry.get("field") == field:
            for c in entry.get("citations") or []:
                rel = common.url_rel(c.get("url"), port)
                if rel is not None:
                    out.append(rel)
    return out


def supported(cand, g, q, texts, page_of, port):
    """Per condition: whether the candidate's basis for it cites a page whose main text states
    one of the gold entity's evidence strings for it."""
    out = {}
    for c in q["match_conditions"]:
        ev = [common.norm(s) for s in g["evidence"].get(c["name"], [])]
        ok = False
        for rel in cited_rels(cand.get("basis"), c["name"], port):
            page = page_of.get(rel)
            text = texts.text(page) if page else None
            if text and any(e in text for e in ev):
                ok = True
                break
        out[c["name"]] = ok
    return out


def score(q, rec, texts, page_of, port):
    """Adds the verdicts to `rec`: per matched candidate, the gold entity it is (or None), whether
    it repeats an earlier matched one, and its citation support; plus the query's counts."""
    seen = set()
    verdicts = []
    for cand in rec["candidates"]:
        if cand.get("match_status") != "matched":
            continue
        gi = gold_of(cand, q)
        v = {"name": cand.get("name"), "url": cand.get("url"), "gold": None if gi is None else q["gold"][gi]["name"],
             "duplicate": gi is not None and gi in seen, "support": None,
             "negative": None}
        if gi is None:
            neg = negative_of(cand, q)
            v["negative"] = neg and neg["fails"]
        else:
            v["support"] = supported(cand, q["gold"][gi], q, texts, page_of, port)
            seen.add(gi)
        verdicts.append(v)
    missed = [g["name"] for i, g in enumerate(q["gold"]) if i not in seen]
    rec["verdicts"] = verdicts
    rec["counts"] = {
        "gold": len(q["gold"]), "gold_found": len(seen), "matched": len(verdicts),
        "matched_gold": sum(1 for v in verdicts if v["gold"] is not None),
        "duplicates": sum(1 for v in verdicts if v["duplicate"]),
        "supported": sum(1 for v in verdicts if v["gold"] is not None and all(v["support"].values())),
        "generated": len(rec["candidates"]),
    }
    rec["missed"] = missed


def ratio(n, d):
    return None if d == 0 else n / d


def summarise(generator, part, recs):
    c = {k: sum(r.get("counts", {}).get(k, 0) for r in recs) for k in
         ("gold", "gold_found", "matched", "matched_gold", "duplicates", "supported", "generated")}
    secs = [r["seconds"] for r in recs if r.get("seconds") is not None]
    return dict(c, generator=generator, part=part, queries=len(recs),
                failed=sum(1 for r in recs if r.get("error")),
                recall=ratio(c["gold_found"], c["gold"]),
                precision=ratio(c["matched_gold"], c["matched"]),
                duplicate_rate=ratio(c["duplicates"], c["matched"]),
                citation_support=ratio(c["supported"], c["matched_gold"]),
                mean_seconds=statistics.mean(secs) if secs else None,
                max_seconds=max(secs) if secs else None)


def fmt(x, pct=True):
    if x is None:
        return "n/a"
    return "%.1f %%" % (100 * x) if pct else "%.2f" % x


def targets(summaries):
    checks = []
    for s in summaries:
        if s["generator"] != TARGET_GENERATOR:
            continue
        for label, value, ok in (
                ("recall >= %.0f %%" % (100 * TARGET_RECALL), s["recall"], s["recall"] is not None and s["recall"] >= TARGET_RECALL),
                ("precision >= %.0f %%" % (100 * TARGET_PRECISION), s["precision"],
                 s["precision"] is None or s["precision"] >= TARGET_PRECISION),
                ("duplicates <= %.0f %%" % (100 * TARGET_DUPLICATES), s["duplicate_rate"],
                 s["duplicate_rate"] is None or s["duplicate_rate"] <= TARGET_DUPLICATES),
                ("citation support = 100 %", s["citation_support"],
                 s["citation_support"] is None or s["citation_support"] >= TARGET_CITATION_SUPPORT)):
            checks.append({"part": s["part"], "generator": s["generator"], "target": label, "value": value, "pass": ok})
    return checks


def print_report(meta, summaries, runs):
    print("FindAll evaluation, commit %s, binary %s (built %s), no LLM" % (meta["commit"], meta["binary"], meta["binary_built"]))
    m = meta["machine"]
    print("machine: %s cores, %s, load %s" % (m["nproc"], m["cpu"], m["loadavg_at_start"]))
    for part in PARTS:
        ss = [s for s in summaries if s["part"] == part]
        if not ss:
            continue
        print()
        print("%s: %d queries, %d gold entities%s" % (part, ss[0]["queries"], ss[0]["gold"],
                                                     " (totals only)" if part == "held-out" else ""))
        print("| generator | recall | precision | duplicates | citation support | matched | generated | failed runs | mean s/run | max s/run |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for s in ss:
            print("| %s | %s (%d/%d) | %s (%d/%d) | %s (%d) | %s (%d/%d) | %d | %d | %d | %s | %s |" % (
                s["generator"], fmt(s["recall"]), s["gold_found"], s["gold"], fmt(s["precision"]), s["matched_gold"],
                s["matched"], fmt(s["duplicate_rate"]), s["duplicates"], fmt(s["citation_support"]), s["supported"],
                s["matched_gold"], s["matched"], s["generated"], s["failed"], fmt(s["mean_seconds"], False),
                fmt(s["max_seconds"], False)))
        if part == "dev":
            for gen, recs in runs.get("dev", {}).items():
                lines = []
                for r in recs:
                    bits = []
                    if r.get("error"):
                        bits.append("ERROR " + r["error"])
                    if r.get("missed"):
                        bits.append("missed: " + ", ".join(r["missed"]))
                    for v in r.get("verdicts", []):
                        if v["gold"] is None:
                            bits.append("not gold: %s%s" % (v["name"], " (hard negative, fails %s)" % v["negative"] if v["negative"] else ""))
                        elif v["duplicate"]:
                            bits.append("duplicate: %s = %s" % (v["name"], v["gold"]))
                        elif not all(v["support"].values()):
                            bits.append("unsupported: %s (%s)" % (v["name"], ", ".join(k for k, ok in v["support"].items() if not ok)))
                    if bits:
                        lines.append("  %s [%s, %s, %d generated]: %s" % (r["id"], r.get("status"), r.get("termination_reason"),
                                                                       len(r.get("candidates", [])), "; ".join(bits)))
                if lines:
                    print("%s on dev:" % gen)
                    print("\n".join(lines))
    checks = targets(summaries)
    if checks:
        print()
        print("Targets (%s, no LLM):" % TARGET_GENERATOR)
        for c in checks:
            print("  %-8s %-28s %-9s %s" % (c["part"], c["target"], fmt(c["value"]), "PASS" if c["pass"] else "FAIL"))
    return checks


LOG_HEADER = """# Held-out looks (FindAll)

Every run of `bench/findall/run.py` that asks held-out queries (`--part held-out` or `--part all`)
appends one line here, whatever its result: the date (UTC), the commit, the generators and the
held-out totals it printed. Nobody tunes on the held-out worlds (see README.md, "Dev and
held-out"); the log shows how often they were looked at. Commit it with the change a look measured.

| date (UTC) | commit | generators | held-out queries (gold) | held-out totals |
| --- | --- | --- | --- | --- |
"""


def append_held_out_log(meta, summaries, checks):
    ss = [s for s in summaries if s["part"] == "held-out"]
    figures = ["%s: recall %s, precision %s, duplicates %s, citations %s, mean %s s" % (
        s["generator"], fmt(s["recall"]), fmt(s["precision"]), fmt(s["duplicate_rate"]),
        fmt(s["citation_support"]), fmt(s["mean_seconds"], False)) for s in ss]
    hc = [c for c in checks if c["part"] == "held-out"]
    if hc:
        figures.append("targets %s" % ("PASS" if all(c["pass"] for c in hc) else "FAIL"))
    line = "| %s | %s | %s | %d (%d) | %s |\n" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), meta["commit"],
        ",".join(meta["generators"]), ss[0]["queries"] if ss else 0, ss[0]["gold"] if ss else 0,
        "; ".join(figures).replace("|", "/"))
    new = not os.path.exists(common.HELD_OUT_LOG)
    with open(common.HELD_OUT_LOG, "a", encoding="utf-8") as f:
        if new:
            f.write(LOG_HEADER)
        f.write(line)
    log("held-out look logged in %s" % os.path.relpath(common.HELD_OUT_LOG, common.REPO))


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generators", default=DEFAULT_GENERATORS, help="comma- or space-separated (default %s)" % DEFAULT_GENERATORS)
    ap.add_argument("--part", choices=("dev", "held-out", "all"), default="dev")
    ap.add_argument("--only", help="comma-separated query ids, within --part")
    ap.add_argument("--match-limit", type=int, default=25, help="match_limit of every run (default 25)")
    ap.add_argument("--concurrency", type=int, default=2, help="runs in flight at once (default 2)")
    ap.add_argument("--run-timeout", type=float, default=300.0, help="seconds before a run is cancelled and counted failed")
    ap.add_argument("--json", metavar="OUT", help="write everything here (held-out: totals only)")
    ap.add_argument("--skip-build", action="store_true", help="do not run cargo build --release -p parallax")
    ap.add_argument("--binary", default=DEFAULT_BINARY, help="parallax binary (default target/release/parallax)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory (serve.log)")
    ap.add_argument("--dry-run", action="store_true", help="serve, index, start the server and check it, but create no run")
    ap.add_argument("--set", choices=sorted(common.SETS), default="default",
                    help="default: web/ and queries.json (dev and held-out); dev2: dev2/web and dev2/queries.json, every world dev")
    ap.add_argument("--queries", help="default: the set's queries.json")
    ap.add_argument("--web", help="default: the set's web/")
    args = ap.parse_args()

    cfg = common.SETS[args.set]
    split = cfg["split"]
    args.queries = args.queries or cfg["queries"]
    args.web = args.web or cfg["web"]
    if not split and args.part != "dev":
        raise evalrun.SetupError("--set %s has no held-out part: every world is dev (use --part dev)" % args.set)
    generators = [g for g in args.generators.replace(",", " ").split() if g]
    web = os.path.abspath(args.web)
    all_worlds = common.worlds(web)
    held = common.held_out_worlds(all_worlds) if split else set()
    queries = common.load_queries(args.queries)
    for q in queries:
        if q["world"] not in all_worlds:
            raise evalrun.SetupError("%s: world %s is not a folder of %s" % (q["id"], q["world"], web))
        q["part"] = "held-out" if q["world"] in held else "dev"
    wanted = PARTS if args.part == "all" else (args.part,)
    queries = [q for q in queries if q["part"] in wanted]
    if args.only:
        ids = set(args.only.split(","))
        queries = [q for q in queries if q["id"] in ids]
    if not queries:
        raise evalrun.SetupError("no query to run")

    if not args.skip_build:
        evalrun.build()
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        raise evalrun.SetupError("no parallax binary at %s (build it, or drop --skip-build)" % args.binary)
    meta = {"machine": evalrun.machine(), "commit": common.commit(), "binary": args.binary,
            "binary_built": datetime.datetime.fromtimestamp(os.path.getmtime(args.binary)).astimezone().isoformat(timespec="seconds"),
            "set": args.set, "generators": generators, "part": args.part, "match_limit": args.match_limit,
            "split": {"salt": common.SPLIT_SALT if split else None, "dev_worlds": sorted(set(all_worlds) - held)},
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}

    texts = common.Texts(web)
    page_of = {common.norm_rel(p): p for p in common.pages(web)}
    with common.Stack(args.binary, web, keep=args.keep, log=log) as stack:
        served, answer = stack.findall_served()
        meta["index"] = stack.index
        if args.dry_run:
            import check
            problems = check.check(common.load_queries(args.queries), web, split=split)
            print("dry run: %d page(s) indexed, %d skipped; FindAll %s (POST /v1beta/findall/runs {} answered %s); "
                  "checker: %s" % (stack.index["indexed"], stack.index["skipped"], "served" if served else "NOT served",
                                   answer[0], "OK" if not problems else "%d problem(s)" % len(problems)))
            for p in problems:
                print("PROBLEM: " + p)
            return 0 if served and not problems else 1
        if not served:
            raise evalrun.SetupError("the server does not serve FindAll: POST /v1beta/findall/runs answered %s" % (answer,))
        api = stack.api
        summaries, runs = [], {p: {} for p in wanted}
        for gen in generators:
            log("%d queries with %s (concurrency %d)" % (len(queries), gen, args.concurrency))
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
                futs = [pool.submit(run_query, api, gen, q, args.match_limit, args.run_timeout) for q in queries]
                recs = []
                for q, fut in zip(queries, futs):
                    try:
                        recs.append(fut.result())
                    except (OSError, http.client.HTTPException) as e:
                        recs.append({"id": q["id"], "generator": gen, "error": "request failed: %s" % e, "candidates": [],
                                     "seconds": None})
            if stack.server.proc.poll() is not None:
                raise evalrun.SetupError("parallax serve exited during the evaluation; see %s" % stack.server.log_path)
            if all((r.get("error") or "").startswith("create answered") for r in recs):
                raise evalrun.SetupError("every run creation failed, e.g. %s" % recs[0]["error"])
            log("%s: done in %.1f s" % (gen, time.monotonic() - t0))
            for part in wanted:
                part_recs = []
                for q, r in zip(queries, recs):
                    if q["part"] == part:
                        r["part"], r["world"] = part, q["world"]
                        score(q, r, texts, page_of, stack.port)
                        part_recs.append(r)
                if part_recs:
                    runs[part][gen] = part_recs
                    summaries.append(summarise(gen, part, part_recs))
        panics = stack.server.panics()
        if panics:
            meta["panics"] = "%d panic(s), first: %s" % (panics, stack.server.first_panic())
            print("NOTE: the server logged " + meta["panics"])
        checks = print_report(meta, summaries, runs)
        if split and "held-out" in runs and runs["held-out"]:
            append_held_out_log(meta, summaries, checks)
        if args.json:
            out = {"meta": meta, "summaries": summaries, "checks": checks,
                   "runs": {p: rs for p, rs in runs.items() if p != "held-out"}}
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(out, f, indent=1, ensure_ascii=False)
            log("written to %s" % args.json)
    return 0


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
