#!/usr/bin/env python3
"""Scale-out: task runs completed per second with one and with two worker nodes on one
PostgreSQL database, behind one API node (`parallax serve --role api|worker`).

Each measurement starts, on a fresh schema, one `--role api` node and W `--role worker` nodes
(`--scripted-processor`, `--concurrency C`), then creates N runs on the api node, each a
scripted run that sleeps a fixed time (`metadata.scripted_sleep`), and waits until all N have
completed. The rate is N ÷ (last run's completion − first run's creation), both read from the
database (`runs.created_at`, `runs.modified_at`, microseconds), so polling adds no error.
Each figure is the median of `--repeats` measurements; the report prints both rates and
their ratio (two workers ÷ one).

With a fixed sleep S and C slots per worker, one worker can complete at most C ÷ S runs per
second; a second worker doubles the slots, so the ideal ratio is 2. What keeps it below 2 is
what the nodes share: the database (claims, heartbeats, the event log and group commits of
run endings) and, on a small machine, the cores.

    python3 bench/scaleout/run.py [--runs 400] [--sleep-ms 500] [--concurrency 16]
                                  [--repeats 3] [--binary PATH] [--database-url URL]

The binary must be built with the scripted processor:
`cargo build -p parallax --features scripted` (its path: `--binary`, else `PARALLAX_BIN`,
else `$CARGO_TARGET_DIR/debug/parallax`, else `target/debug/parallax`). Needs `psql`.
Standard library only. Exit status 0 when every measurement completed, 2 when the setup failed.
"""
import argparse
import concurrent.futures
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"
LISTEN_RE = re.compile(r"^parallax listening on (http://127\.0\.0\.1:\d+)$")


def log(msg):
    print("[scaleout] " + msg, file=sys.stderr, flush=True)


def default_binary():
    if os.environ.get("PARALLAX_BIN"):
        return os.environ["PARALLAX_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.path.join(target, "debug", "parallax")


def psql(base, schema, sql):
    parsed = urllib.parse.urlparse(base)
    dsn = f"postgresql://{parsed.username or 'postgres'}@{parsed.hostname or '127.0.0.1'}:{parsed.port or 5432}{parsed.path or '/test'}"
    out = subprocess.run(
        ["psql", dsn, "-XAtq", "-F", "\t", "-c", f'SET search_path TO "{schema}"; {sql}'],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


class Node:
    def __init__(self, binary, url, role, key, workdir, concurrency):
        self.log_path = os.path.join(workdir, f"{role}-{uuid.uuid4().hex[:6]}.log")
        cmd = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(workdir, "data"),
               "--database-url", url, "--api-key", key, "--scripted-processor", "--search", "local",
               "--role", role, "--concurrency", str(concurrency)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARALLAX_")}
        env.setdefault("RUST_LOG", "warn")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.base = None
        deadline = time.monotonic() + 60
        for raw in self.proc.stdout:
            m = LISTEN_RE.match(raw.decode().strip())
            if m:
                self.base = m.group(1)
                break
            if time.monotonic() > deadline:
                break
        if not self.base:
            raise RuntimeError(f"{role} node did not start; see {self.log_path}")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def create(base, key, body):
    req = urllib.request.Request(f"{base}/v1/tasks/runs", data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json", "x-api-key": key})
    with urllib.request.urlopen(req, timeout=60) as resp:
        if resp.status != 202:
            raise RuntimeError(f"create answered {resp.status}")


def measure(args, workers):
    schema = f"parallax_bench_scaleout_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
    key = "px_bench_" + secrets.token_hex(12)
    workdir = tempfile.mkdtemp(prefix="parallax-scaleout-")
    nodes = []
    try:
        api = Node(args.binary, url, "api", key, workdir, args.concurrency)
        nodes.append(api)
        for _ in range(workers):
            nodes.append(Node(args.binary, url, "worker", key, workdir, args.concurrency))
        body = {"input": "scale-out", "processor": "lite", "metadata": {"scripted_sleep": args.sleep_ms}}
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: create(api.base, key, body), range(args.runs)))
        deadline = time.monotonic() + 600
        while True:
            (done,), = psql(args.database_url, schema, "SELECT count(*) FROM runs WHERE status = 'completed'")
            if int(done) >= args.runs:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {args.runs} runs completed in 10 minutes")
            time.sleep(0.1)
        (first, last), = psql(args.database_url, schema, "SELECT min(created_at), max(modified_at) FROM runs")
        seconds = (int(last) - int(first)) / 1e6
        return args.runs / seconds, seconds
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        try:
            psql(args.database_url, "public", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        except subprocess.CalledProcessError as e:
            log(f"could not drop {schema}: {e.stderr.strip()}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=400)
    p.add_argument("--sleep-ms", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=16, help="runs executed at once per worker")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--binary", default=default_binary())
    p.add_argument("--database-url", default=os.environ.get("PARALLAX_TEST_DATABASE_URL", DEFAULT_PG))
    args = p.parse_args()
    if not os.path.isfile(args.binary):
        log(f"no binary at {args.binary}; build it with `cargo build -p parallax --features scripted`")
        return 2
    if shutil.which("psql") is None:
        log("psql is needed")
        return 2
    rates = {}
    try:
        for workers in (1, 2):
            rates[workers] = []
            for i in range(args.repeats):
                rate, seconds = measure(args, workers)
                rates[workers].append(rate)
                log(f"{workers} worker(s), repeat {i + 1}: {args.runs} runs in {seconds:.2f} s = {rate:.1f} runs/s")
    except (RuntimeError, subprocess.CalledProcessError) as e:
        log(f"setup failed: {e}")
        return 2
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    ideal = args.concurrency / (args.sleep_ms / 1000)
    print(f"machine: {os.cpu_count()} cores; {args.runs} runs of {args.sleep_ms} ms each, "
          f"{args.concurrency} slots per worker (one worker's ceiling {ideal:.1f} runs/s), "
          f"median of {args.repeats}")
    print(f"1 worker : {one:.1f} runs/s  (each: {', '.join(f'{r:.1f}' for r in rates[1])})")
    print(f"2 workers: {two:.1f} runs/s  (each: {', '.join(f'{r:.1f}' for r in rates[2])})")
    print(f"ratio    : {two / one:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
