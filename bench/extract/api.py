"""The Extract API side of `devset.py --api`: a loopback site serving the set's pages at their
own paths, the release server reading them through `POST /v1/extract` in batches, and the
server's per-stage timing log summed (`stages.py` prints it).

Kept apart from `devset.py` so that the split, the scorer and the trafilatura run stay in one
place there; this module only turns a list of entries into `{File: result}` and a timing.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import subprocess
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

API_KEY = "bench-devset-key"
BATCH = 10
# The server's per-stage timing events (see crates/engine/src/web/timing.rs).
TIMING_TARGET = "parallax_engine::timing"


class Site(ThreadingHTTPServer):
    # The default listen backlog (5) drops SYNs of 10 concurrent connections, which then wait
    # a 1 s retransmit: a fake second per batch that belongs to neither side.
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, routes: dict):
        self.routes = routes  # path?query -> (bytes, content-type)
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        page = self.server.routes.get(self.path)
        if page is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, ctype = page
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def site_for(entries: list, files: Path) -> tuple[Site, dict]:
    """A started loopback site serving each entry's file at its URL's path and query, and
    `{File: loopback URL}`. The bytes are served as stored; the content type says UTF-8 only
    when they are valid UTF-8, else the page's own declaration (or the fetcher's guess)
    decides."""
    routes, urls = {}, {}
    for e in entries:
        parts = urllib.parse.urlsplit(e["URL"].strip())
        # Percent-encoded as a client would send it (the set has a few raw spaces and
        # non-ASCII letters), so that the path the site receives is the path asked for.
        safe = "/%:@!$&'()*+,;=~-._"
        path = urllib.parse.quote(parts.path or "/", safe=safe)
        if parts.query:
            path += "?" + urllib.parse.quote(parts.query, safe=safe + "?")
        if not path.startswith("/"):
            path = "/" + path
        candidate, n = path, 1
        while candidate in routes:
            candidate, n = f"/_{n}{path}", n + 1
        body = (files / e["File"]).read_bytes()
        try:
            body.decode("utf-8")
            ctype = "text/html; charset=utf-8"
        except UnicodeDecodeError:
            ctype = "text/html"
        routes[candidate] = (body, ctype)
        urls[e["File"]] = candidate
    site = Site(routes)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{site.server_address[1]}"
    return site, {f: base + p for f, p in urls.items()}


def start_server(binary: Path, data_dir: Path, log: Path, stages: bool):
    """`parallax serve` on a free loopback port, allowed to fetch loopback pages, its stderr
    into `log`, with the per-stage timing events when `stages`. Returns (process, host,
    port).

    The timing events are at debug level, and enabling any debug target raises the `log`
    crate's global level, so that every `debug!` of the HTML parser (html5ever logs through
    `log`) goes through the filter: a few per cent of the extraction's CPU. Hence timing is
    a separate run, not the one whose wall time is reported."""
    err = open(log, "w")
    directives = f"warn,html5ever=error,{TIMING_TARGET}=debug" if stages else "warn,html5ever=error"
    proc = subprocess.Popen(
        [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir),
         "--api-key", API_KEY, "--allow-private-fetch"],
        stdout=subprocess.PIPE, stderr=err, text=True,
        env={**os.environ, "RUST_LOG": directives},
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on http://" in line:
            addr = line.strip().rsplit("http://", 1)[1]
            host, port = addr.rsplit(":", 1)
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, host, int(port)
    proc.kill()
    raise SystemExit(f"parallax did not start (see {log})")


def cpu_by_thread(pid: int) -> dict:
    """CPU seconds of a live process: `{"total": all threads ever, thread name: its live
    threads}` (names with their digits removed, so tantivy's or tokio's pools add up)."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(stat: str) -> float:
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    # The process's own line counts the threads that have ended too.
    out = {"total": cpu(Path(f"/proc/{pid}/stat").read_text())}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = re.sub(r"[\d]+", "#", stat[stat.index("(") + 1:stat.rindex(")")])
        out[name] = out.get(name, 0.0) + cpu(stat)
    return out


def md_text(bench: Path, markdown: dict) -> dict:
    """`{key: markdown}` to `{key: plain text}` through the extractor's `markdown_to_text`."""
    lines = "".join(json.dumps({"key": k, "markdown": v}) + "\n" for k, v in markdown.items())
    out = subprocess.run([str(bench), "md-text"], input=lines, capture_output=True, text=True, check=True)
    return {r["key"]: r["text"] for r in map(json.loads, out.stdout.splitlines()) if r}


def run(entries: list, files: Path, target: Path, log: Path, stages: bool = False) -> tuple[dict, float, dict]:
    """Reads `entries` through the Extract API. Returns `({File: {"text", "title", "date",
    "error"}}, wall seconds, {"batches", "errors"})`."""
    site, urls = site_for(entries, files)
    by_url = {u: f for f, u in urls.items()}
    results, errors = {}, 0
    with tempfile.TemporaryDirectory(prefix="parallax-devset-api-") as data_dir:
        proc, host, port = start_server(target / "release" / "parallax", Path(data_dir), log, stages)
        try:
            conn = http.client.HTTPConnection(host, port, timeout=300)
            order = [urls[e["File"]] for e in entries]
            batches = [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
            started = time.perf_counter()
            site_cpu = resource.getrusage(resource.RUSAGE_SELF)
            for batch in batches:
                body = json.dumps({"urls": batch, "full_content": True})
                conn.request("POST", "/v1/extract", body=body,
                             headers={"content-type": "application/json", "x-api-key": API_KEY})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise SystemExit(f"extract answered {resp.status}: {data[:300]!r}")
                answer = json.loads(data)
                for r in answer["results"]:
                    results[by_url[r["url"]]] = {"markdown": r.get("full_content") or "",
                                                 "title": r.get("title"), "date": r.get("publish_date")}
                for e in answer["errors"]:
                    errors += 1
                    results[by_url[e["url"]]] = {"markdown": "", "title": None, "date": None,
                                                 "error": e.get("error_type")}
            wall = time.perf_counter() - started
            # This process: the site's threads, plus the client (JSON of the answers).
            after = resource.getrusage(resource.RUSAGE_SELF)
            site_cpu = after.ru_utime + after.ru_stime - site_cpu.ru_utime - site_cpu.ru_stime
            conn.close()
            # The indexer works on after the last answer: give it a moment, then read the
            # CPU every thread used (the indexing is part of what the run cost).
            time.sleep(2)
            threads = cpu_by_thread(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            site.shutdown()
    texts = md_text(target / "release" / "parallax-bench", {f: r["markdown"] for f, r in results.items()})
    for f, r in results.items():
        r["text"] = texts.get(f, "")
    return results, wall, {"batches": len(batches), "errors": errors, "threads": threads,
                                 "site_cpu": site_cpu}
