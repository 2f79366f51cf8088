#!/usr/bin/env python3
"""Task Groups at scale: one group of 10,000 inputs, added in ten requests of 1,000, read back
through the group's event stream, on SQLite and on PostgreSQL.

Every run is a real `lite` run on a local index (the 40-page fixture web of bench/eval, indexed
into the server's data directory): a search, passages read from index copies, an extractive
answer with citations. For each backend it measures

- **end to end**: from the first add request to the moment an SSE client of
  `GET /v1/tasks/groups/{id}/events` receives the last run's completion event;
- **peak RSS** of the server process (`VmHWM` from /proc);
- **events lost or repeated**: every run must appear in exactly one `task_run.state` event,
  and event ids must run 1, 2, 3, … without a gap or a repeat across the client's reconnects
  (the stream ends whenever the group goes idle; the client resumes from its last event_id);

and, as the baseline in the same run, the same inputs submitted the way a client without task
groups would: one `POST /v1/tasks/runs` each (16 connections) and a `GET …/result` wait for each
(64 connections), timed from the first create to the last result, on a fresh server of the
same backend. The report prints group time / baseline time.

    python3 bench/groups/run.py [--runs 10000] [--backends sqlite,postgres] [--skip-build]

Standard library only. Exit status: 0 when every target is met, 1 when one is not, 2 when the
benchmark could not be set up.
"""
import argparse
import concurrent.futures
import http.client
import importlib.util
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

_spec = importlib.util.spec_from_file_location("parallax_eval", os.path.join(REPO, "bench", "eval", "run.py"))
ev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ev)

TARGET_SECONDS = 20.0
TARGET_RSS_MB = 200.0
BATCH = 1000
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"


def log(msg):
    print("[groups] " + msg, file=sys.stderr, flush=True)


def inputs(n):
    """`n` run inputs: the eval questions, cycled, as `lite` runs with their JSON schemas."""
    with open(ev.QUESTIONS, encoding="utf-8") as f:
        questions = json.load(f)
    out = []
    for i in range(n):
        q = questions[i % len(questions)]
        out.append({
            "input": q["input"],
            "processor": "lite",
            "metadata": {"row": i},
            "task_spec": {"output_schema": {"type": "json", "json_schema": q["output_schema"]}},
        })
    return out


class Conn:
    """One keep-alive connection to the server."""

    def __init__(self, server, key, timeout=120):
        self.server, self.key, self.timeout = server, key, timeout
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=self.timeout)
            headers = {"x-api-key": self.key}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["content-type"] = "application/json"
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                return resp.status, json.loads(payload) if payload else None
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class EventReader(threading.Thread):
    """An SSE client of a group's event stream that resumes from its last event_id whenever the
    stream ends, until it has seen `expected` runs end. Records what it saw and when."""

    def __init__(self, server, key, group_id, expected):
        super().__init__(name="group-events", daemon=True)
        self.server, self.key, self.group_id, self.expected = server, key, group_id, expected
        self.event_ids = []  # every event id received, in order
        self.run_events = 0  # task_run.state events received
        self.ended = set()  # run ids seen ending
        self.last_run_at = None  # monotonic time of the event that completed the set
        self.idle_seen = False
        self.connections = 0
        self.errors = []
        self.done = threading.Event()

    def run(self):
        cursor = ""
        try:
            while len(self.ended) < self.expected or not self.idle_seen:
                if self.done.is_set():
                    return
                query = urllib.parse.urlencode({"last_event_id": cursor} if cursor else {})
                path = "/v1/tasks/groups/%s/events%s" % (self.group_id, "?" + query if query else "")
                conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=120)
                conn.request("GET", path, headers={"x-api-key": self.key, "accept": "text/event-stream"})
                resp = conn.getresponse()
                if resp.status != 200:
                    self.errors.append("events: HTTP %d %s" % (resp.status, resp.read()[:300]))
                    return
                self.connections += 1
                got = 0
                data = []
                while True:
                    line = resp.readline()
                    if not line:
                        break
                    line = line.decode().rstrip("\r\n")
                    if line.startswith("data:"):
                        data.append(line[5:].lstrip())
                    elif line == "" and data:
                        event = json.loads("\n".join(data))
                        data = []
                        got += 1
                        self.seen(event)
                        cursor = event.get("event_id") or cursor
                conn.close()
                if not got:
                    time.sleep(0.05)  # the group was idle with nothing new: look again shortly
        except Exception as e:  # noqa: BLE001 - reported in the results
            self.errors.append("events: %r" % (e,))
        finally:
            self.done.set()

    def seen(self, event):
        if event.get("type") == "error":
            self.errors.append("error event: %s" % event)
            return
        self.event_ids.append(int(event["event_id"]))
        if event["type"] == "task_run.state":
            self.run_events += 1
            self.ended.add(event["run"]["run_id"])
            if len(self.ended) == self.expected and self.last_run_at is None:
                self.last_run_at = time.monotonic()
        elif event["type"] == "task_group_status" and not event["status"]["is_active"]:
            if len(self.ended) == self.expected:
                self.idle_seen = True


def start_server(args, backend, label, work, port_sitemap, schemas):
    data_dir = os.path.join(work, label)
    os.makedirs(data_dir)
    ev.index_add(args.binary, data_dir, port_sitemap)
    key = "px_bench_" + secrets.token_hex(12)
    extra = ["--concurrency", str(args.concurrency)]
    if backend == "postgres":
        schema = "px_groupbench_%d_%s" % (os.getpid(), label.replace("-", "_"))
        schemas.append(schema)
        sep = "&" if "?" in args.pg_url else "?"
        extra += ["--database-url", args.pg_url + sep + "options=" + urllib.parse.quote("-csearch_path=" + schema)]
    server = ev.ParallaxServer(args.binary, data_dir, key, extra_args=extra)
    return server, key


def group_run(args, server, key, items):
    """The measured group run; returns its figures."""
    api = Conn(server, key)
    status, group = api.request("POST", "/v1/tasks/groups", {"metadata": {"bench": "groups"}})
    if status != 200:
        raise ev.SetupError("create group: HTTP %d %s" % (status, group))
    gid = group["taskgroup_id"]
    reader = EventReader(server, key, gid, len(items))
    add_ms = []
    run_ids = []
    cpu_before = cpu_seconds(server.proc.pid)
    t0 = time.monotonic()
    reader.start()
    for start in range(0, len(items), BATCH):
        t = time.monotonic()
        status, body = api.request("POST", "/v1/tasks/groups/%s/runs" % gid, {"inputs": items[start:start + BATCH]})
        add_ms.append((time.monotonic() - t) * 1000)
        if status != 200:
            raise ev.SetupError("add runs: HTTP %d %s" % (status, str(body)[:500]))
        run_ids.extend(body["run_ids"])
    adds_done = time.monotonic() - t0
    reader.done.wait(args.deadline)
    finished = reader.last_run_at
    reader.done.set()
    _, final = api.request("GET", "/v1/tasks/groups/%s" % gid)
    counts = final["status"]["task_run_status_counts"]
    ids = reader.event_ids
    expected_ids = list(range(1, (max(ids) if ids else 0) + 1))
    return {
        "seconds": (finished - t0) if finished else float("inf"),
        "adds_seconds": adds_done,
        "add_ms_p50": statistics.median(add_ms),
        "add_ms_max": max(add_ms),
        "rss_mb": peak_rss_mb(server.proc.pid),
        "cpu_seconds": cpu_seconds(server.proc.pid) - cpu_before,
        "runs": len(run_ids),
        "distinct_run_ids": len(set(run_ids)),
        "lost": len(set(run_ids) - reader.ended),
        "repeated": reader.run_events - len(reader.ended),
        "unknown": len(reader.ended - set(run_ids)),
        "event_ids_ok": ids == expected_ids,
        "events": len(ids),
        "connections": reader.connections,
        "idle_seen": reader.idle_seen,
        "errors": reader.errors,
        "counts": counts,
        "counts_add_up": sum(counts.values()) == final["status"]["num_task_runs"] == len(items),
        "completed": counts.get("completed", 0),
        "failed": counts.get("failed", 0),
        "panics": server.panics(),
    }


def singles_run(args, server, key, items):
    """The baseline: the same inputs as single runs, each created and then awaited."""
    local = threading.local()

    def conn():
        if not hasattr(local, "c"):
            local.c = Conn(server, key, timeout=args.deadline)
        return local.c

    def create(item):
        status, body = conn().request("POST", "/v1/tasks/runs", item)
        if status != 202:
            raise RuntimeError("create: HTTP %d %s" % (status, str(body)[:300]))
        return body["run_id"]

    def result(run_id):
        status, body = conn().request("GET", "/v1/tasks/runs/%s/result?timeout=%d" % (run_id, args.deadline))
        return body["run"]["status"] if status == 200 else "failed"

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        run_ids = list(pool.map(create, items))
    created = time.monotonic() - t0
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        statuses = list(pool.map(result, run_ids))
    return {
        "seconds": time.monotonic() - t0,
        "creates_seconds": created,
        "rss_mb": peak_rss_mb(server.proc.pid),
        "completed": statuses.count("completed"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10000, help="inputs in the group (default 10000)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--pg-url", default=os.environ.get("PG_URL", DEFAULT_PG))
    ap.add_argument("--concurrency", type=int, default=16,
                    help="--concurrency of the servers (default 16, the server's own default)")
    ap.add_argument("--deadline", type=float, default=300, help="seconds to wait for all runs (default 300)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the single-runs baseline")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--binary", default=ev.DEFAULT_BINARY)
    ap.add_argument("--json", metavar="OUT", help="write the figures here")
    args = ap.parse_args()

    if not args.skip_build:
        ev.build()
    items = inputs(args.runs)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    fixture, port, _ = ev.start_fixture_server()
    sitemap = "http://127.0.0.1:%d/sitemap.xml" % port
    work = tempfile.mkdtemp(prefix="parallax-groupbench-")
    schemas = []
    results = {}
    try:
        for backend in backends:
            server, key = start_server(args, backend, backend + "-group", work, sitemap, schemas)
            log("%s: group of %d runs on %s" % (backend, len(items), server.base))
            results[backend] = {"group": group_run(args, server, key, items)}
            server.stop()
            log("%s: group done in %.2f s" % (backend, results[backend]["group"]["seconds"]))
            if not args.no_baseline:
                server, key = start_server(args, backend, backend + "-singles", work, sitemap, schemas)
                log("%s: baseline, %d single runs" % (backend, len(items)))
                results[backend]["singles"] = singles_run(args, server, key, items)
                server.stop()
                log("%s: baseline done in %.2f s" % (backend, results[backend]["singles"]["seconds"]))
    finally:
        for server in ev.SERVERS:
            server.stop()
        fixture.shutdown()
        for schema in schemas:
            subprocess.run(["psql", "-q", args.pg_url, "-c", "DROP SCHEMA IF EXISTS %s CASCADE" % schema],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    meta = {"machine": ev.machine(), "commit": ev.commit(), "runs": len(items), "batch": BATCH,
            "concurrency": args.concurrency}
    ok = report(meta, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=2)
    return 0 if ok else 1


def report(meta, results):
    m = meta["machine"]
    print("Task Groups at scale: %d lite runs on the local index, added %d per request, server --concurrency %d"
          % (meta["runs"], meta["batch"], meta["concurrency"]))
    print("machine: %s, %s cores; commit %s" % (m["cpu"], m["nproc"], meta["commit"]))
    print()
    ok = True
    header = "%-9s %10s %10s %8s %9s %6s %8s %9s %12s %9s %8s" % (
        "backend", "end-to-end", "baseline", "ratio", "peak RSS", "lost", "repeated", "ids 1..N",
        "completed", "adds p50", "streams")
    print(header)
    for backend, r in results.items():
        g = r["group"]
        s = r.get("singles")
        ratio = g["seconds"] / s["seconds"] if s else float("nan")
        print("%-9s %9.2fs %9s %8s %7.1fMB %6d %8d %9s %12s %7.0fms %8d" % (
            backend, g["seconds"], "%.2fs" % s["seconds"] if s else "-", "%.2f" % ratio if s else "-",
            g["rss_mb"], g["lost"], g["repeated"], "yes" if g["event_ids_ok"] else "NO",
            "%d/%d" % (g["completed"], g["runs"]), g["add_ms_p50"], g["connections"]))
        checks = {
            "end to end < %.0f s" % TARGET_SECONDS: g["seconds"] < TARGET_SECONDS,
            "peak RSS < %.0f MB" % TARGET_RSS_MB: g["rss_mb"] < TARGET_RSS_MB,
            "0 lost": g["lost"] == 0 and g["unknown"] == 0,
            "0 repeated": g["repeated"] == 0,
            "event ids contiguous": g["event_ids_ok"],
            "counts add up": g["counts_add_up"],
            "group went idle": g["idle_seen"],
            "no errors or panics": not g["errors"] and not g["panics"],
        }
        failed = [name for name, passed in checks.items() if not passed]
        if failed:
            ok = False
        print("          %s; adds took %.2f s (max %.0f ms per 1,000); %d events; failed runs: %d; "
              "server CPU %.1f s (%.0f %% of one core)" % (
                  "all targets met" if not failed else "NOT MET: " + ", ".join(failed),
                  g["adds_seconds"], g["add_ms_max"], g["events"], g["failed"], g["cpu_seconds"],
                  100 * g["cpu_seconds"] / g["seconds"]))
        if g["errors"]:
            print("          errors: %s" % "; ".join(g["errors"][:3]))
        if s:
            print("          baseline: creates took %.2f s; peak RSS %.1f MB; %d/%d completed" % (
                s["creates_seconds"], s["rss_mb"], s["completed"], g["runs"]))
    return ok


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ev.SetupError as e:
        log("setup failed: %s" % e)
        sys.exit(2)
