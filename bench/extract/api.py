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
from pathlib import Path

API_KEY = "bench-devset-key"
BATCH = 10
# The server's per-stage timing events (see crates/engine/src/web/timing.rs).
TIMING_TARGET = "parallax_engine::timing"


def dot_segments_removed(path: str) -> str:
    """`path` without `.` and `..` segments, as a URL parser (and so the fetcher) sends it:
    `/a/b/.` is `/a/b/`, `/a/b/../c` is `/a/c`."""
    out: list = []
    segments = path.split("/")[1:]
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


def site_for(entries: list, files: Path, bench: Path, manifest: Path):
    """A started loopback site (`parallax-bench site`: from memory, on one thread, so that
    the site is never what the server waits for) serving each entry's file at its URL's path
    and query, and `{File: loopback URL}`. The bytes are served as stored; the content type
    says UTF-8 only when they are valid UTF-8, else the page's own declaration (or the
    fetcher's guess) decides."""
    routes, urls = {}, {}
    for e in entries:
        parts = urllib.parse.urlsplit(e["URL"].strip())
        # Percent-encoded as a client would send it (the set has a few raw spaces and
        # non-ASCII letters), so that the path the site receives is the path asked for.
        safe = "/%:@!$&'()*+,;=~-._"
        path = urllib.parse.quote(dot_segments_removed(parts.path or "/"), safe=safe)
        if parts.query:
            path += "?" + urllib.parse.quote(parts.query, safe=safe + "?")
        if not path.startswith("/"):
            path = "/" + path
        candidate, n = path, 1
        while candidate in routes:
            candidate, n = f"/_{n}{path}", n + 1
        body = (files / e["File"]).read_bytes()  # read only to choose the content type
        try:
            body.decode("utf-8")
            ctype = "text/html; charset=utf-8"
        except UnicodeDecodeError:
            ctype = "text/html"
        routes[candidate] = (str(files / e["File"]), ctype)
        urls[e["File"]] = candidate
    with open(manifest, "w", encoding="utf-8") as f:
        for path, (file, ctype) in routes.items():
            f.write(json.dumps({"path": path, "file": file, "content_type": ctype}) + "\n")
    site = subprocess.Popen([str(bench), "site", "--manifest", str(manifest)],
                            stdout=subprocess.PIPE, text=True)
    line = site.stdout.readline()
    if "listening on http://" not in line:
        site.kill()
        raise SystemExit("the loopback site did not start")
    base = "http://" + line.strip().rsplit("http://", 1)[1]
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
         "--api-key", API_KEY, "--allow-private-fetch", "--search", "local"],
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
    results, errors = {}, 0
    bench = target / "release" / "parallax-bench"
    with tempfile.TemporaryDirectory(prefix="parallax-devset-api-") as data_dir:
        site, urls = site_for(entries, files, bench, Path(data_dir) / "site.jsonl")
        by_url = {u: f for f, u in urls.items()}
        proc, host, port = start_server(target / "release" / "parallax", Path(data_dir), log, stages)
        try:
            conn = http.client.HTTPConnection(host, port, timeout=300)
            order = [urls[e["File"]] for e in entries]
            batches = [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
            started = time.perf_counter()
            client_cpu = resource.getrusage(resource.RUSAGE_SELF)
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
            after = resource.getrusage(resource.RUSAGE_SELF)
            client_cpu = after.ru_utime + after.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime
            site_cpu = cpu_by_thread(site.pid)["total"]
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
            site.kill()
            site.wait()
    texts = md_text(target / "release" / "parallax-bench", {f: r["markdown"] for f, r in results.items()})
    for f, r in results.items():
        r["text"] = texts.get(f, "")
    return results, wall, {"batches": len(batches), "errors": errors, "threads": threads,
                                 "site_cpu": site_cpu, "client_cpu": client_cpu}
