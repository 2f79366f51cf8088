#!/usr/bin/env python3
"""Evaluate Parallax's research engine on the fixture web.

Serves tests/fixtures/web/ on a loopback port, builds a local index from its sitemap in a temporary
data directory, starts `parallax serve` on it (no LLM: answers are extractive), asks every question
of bench/eval/questions.json through the Task Run API with each processor, and prints field
accuracy, citation accuracy and pipeline time. See bench/eval/README.md for what each figure means.

    python3 bench/eval/run.py [--processors lite,base,core] [--json OUT] [--skip-build] [--keep]

Standard library only. Exits 0 when the evaluation ran (whether or not the targets are met), and
nonzero when it could not be set up (build, fixture server, index or API server failed).
"""
import argparse
import concurrent.futures
import datetime
import functools
import html
import io
import http.client
import http.server
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
WEB = os.path.join(REPO, "tests", "fixtures", "web")
QUESTIONS = os.path.join(HERE, "questions.json")
DEFAULT_BINARY = os.path.join(REPO, "target", "release", "parallax")

# Targets of issue 3, item 10.
TARGET_CORRECT_CITED = 0.60  # fields right with a correct citation, extractive, per processor
TARGET_LITE_PIPELINE_MS = 50.0  # median pipeline time of `lite` on the local index

NUMBER_REL_TOL = 0.005  # `number` fields: within 0.5 % relative; `integer` fields: exact


class SetupError(Exception):
    """The evaluation could not be set up (exit status 2)."""


def log(msg):
    print("[eval] " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The fixture web server


class FixtureHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        "": "application/octet-stream",
        ".html": "text/html; charset=utf-8",
        ".htm": "text/html; charset=utf-8",
        ".pdf": "application/pdf",
        ".xml": "application/xml",
        ".txt": "text/plain; charset=utf-8",
    }

    def __init__(self, *args, sitemap=b"", **kwargs):
        self.sitemap = sitemap
        super().__init__(*args, **kwargs)

    def send_head(self):
        if urllib.parse.urlsplit(self.path).path == "/sitemap.xml":
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(self.sitemap)))
            self.end_headers()
            return io.BytesIO(self.sitemap)
        return super().send_head()

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass


def start_fixture_server():
    """Serves WEB on 127.0.0.1:<free port>; returns (server, port, sitemap bytes)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_address[1]
    with open(os.path.join(WEB, "sitemap.xml"), encoding="utf-8") as f:
        sitemap = f.read().replace("FIXTURE_HOST", "127.0.0.1:%d" % port).encode("utf-8")
    server.RequestHandlerClass = functools.partial(FixtureHandler, directory=WEB, sitemap=sitemap)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fixture-web", daemon=True).start()
    return server, port, sitemap


# --------------------------------------------------------------------------------------------
# The Parallax server


def child_env():
    """Our environment without PARALLAX_* settings, so that no LLM or other provider leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARALLAX_")}
    env.setdefault("RUST_LOG", "warn")
    return env


def build():
    log("building: cargo build --release -p parallax")
    t0 = time.monotonic()
    proc = subprocess.run(["cargo", "build", "--release", "-p", "parallax"], cwd=REPO)
    if proc.returncode != 0:
        raise SetupError("cargo build failed with status %d" % proc.returncode)
    log("built in %.0f s" % (time.monotonic() - t0))


def index_add(binary, data_dir, sitemap_url):
    cmd = [binary, "index", "add", "--data-dir", data_dir, "--allow-private-fetch", sitemap_url]
    t0 = time.monotonic()
    # cwd = data_dir: a parallax.toml in the caller's directory must not configure the run.
    proc = subprocess.run(cmd, cwd=data_dir, env=child_env(), capture_output=True, text=True, timeout=300)
    secs = time.monotonic() - t0
    if proc.returncode != 0:
        raise SetupError("parallax index add failed (%d):\n%s%s" % (proc.returncode, proc.stdout, proc.stderr))
    m = re.search(r"indexed (\d+) page\(s\); (\d+) skipped", proc.stdout)
    if not m or int(m.group(1)) == 0:
        raise SetupError("parallax index add indexed nothing:\n%s%s" % (proc.stdout, proc.stderr))
    return {"indexed": int(m.group(1)), "skipped": int(m.group(2)), "seconds": secs,
            "stderr": proc.stderr.strip()}


SERVERS = []  # started ParallaxServers, stopped on exit and on SIGTERM


class ParallaxServer:
    def __init__(self, binary, data_dir, api_key, extra_args=(), log_name="serve.log"):
        SERVERS.append(self)
        self.log_path = os.path.join(data_dir, log_name)
        self.log_file = open(self.log_path, "w")
        cmd = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
               "--api-key", api_key, "--allow-private-fetch", *extra_args]
        self.proc = subprocess.Popen(cmd, cwd=data_dir, env=child_env(), stdout=subprocess.PIPE,
                                     stderr=self.log_file, text=True, start_new_session=True)
        self.base = None
        found = threading.Event()
        lines = []

        def read_stdout():
            for line in self.proc.stdout:
                lines.append(line)
                m = re.search(r"parallax listening on (http://\S+)", line)
                if m and self.base is None:
                    self.base = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read_stdout, name="parallax-stdout", daemon=True).start()
        found.wait(60)
        if self.base is None:
            self.stop()
            with open(self.log_path) as f:
                raise SetupError("parallax serve did not start:\n%s%s" % ("".join(lines), f.read()[-4000:]))
        u = urllib.parse.urlsplit(self.base)
        self.host, self.port = u.hostname, u.port

    def panics(self):
        """How many panics the server has logged."""
        try:
            with open(self.log_path, errors="replace") as f:
                return sum(1 for line in f if " panicked at " in line)
        except OSError:
            return 0

    def first_panic(self):
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    if " panicked at " in line:
                        return (line.strip() + " " + next(f, "").strip())[:240]
        except OSError:
            pass
        return None

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log_file.close()


class Api:
    def __init__(self, host, port, key):
        self.host, self.port, self.key = host, port, key

    def request(self, method, path, body=None, timeout=120, raw=False):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            headers = {"x-api-key": self.key}
            data = None
            if body is not None:
                data = json.dumps(body).encode("utf-8")
                headers["content-type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        if raw:
            return resp.status, payload.decode("utf-8", "replace")
        try:
            return resp.status, json.loads(payload) if payload else None
        except ValueError:
            return resp.status, payload.decode("utf-8", "replace")


def parse_ts(s):
    """RFC 3339 → seconds since the epoch (float, microseconds kept)."""
    s = s.strip().replace("Z", "+00:00").replace("z", "+00:00")
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", s)
    if m and m.group(2):  # fromisoformat in 3.11 accepts at most 6 fractional digits
        s = m.group(1) + (m.group(2) + "000000")[:7] + m.group(3)
    return datetime.datetime.fromisoformat(s).timestamp()


def parse_sse(text):
    events = []
    data = []
    for line in text.splitlines() + [""]:
        if line == "":
            if data:
                try:
                    events.append(json.loads("\n".join(data)))
                except ValueError:
                    events.append({"type": "unparsed", "data": "\n".join(data)})
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
    return events


def pipeline_ms(events):
    """Milliseconds from the first plan message to the result message, or None."""
    plan = [e for e in events if e.get("type") == "task_run.progress_msg.plan" and e.get("timestamp")]
    result = [e for e in events if e.get("type") == "task_run.progress_msg.result" and e.get("timestamp")]
    if not plan or not result:
        return None
    return (parse_ts(result[-1]["timestamp"]) - min(parse_ts(e["timestamp"]) for e in plan)) * 1000.0


def ask(api, processor, q, run_timeout):
    """One task run; returns a dict with output, basis, timings and events."""
    body = {
        "processor": processor,
        "input": q["input"],
        "task_spec": {"output_schema": {"type": "json", "json_schema": q["output_schema"]}},
        "enable_events": True,
    }
    rec = {"id": q["id"], "processor": processor, "error": None, "run_id": None, "status": None,
           "content": None, "basis": [], "events": [], "pipeline_ms": None, "e2e_ms": None,
           "warnings": None}
    t0 = time.monotonic()
    status, created = api.request("POST", "/v1/tasks/runs", body)
    if status not in (200, 201, 202) or not isinstance(created, dict) or "run_id" not in created:
        rec["error"] = "create answered %s: %s" % (status, str(created)[:500])
        return rec
    run_id = created["run_id"]
    rec["run_id"] = run_id
    deadline = t0 + run_timeout
    result = None
    while True:
        wait = max(1, min(60, int(deadline - time.monotonic())))
        status, result = api.request("GET", "/v1/tasks/runs/%s/result?timeout=%d" % (run_id, wait), timeout=wait + 30)
        if status == 408 and time.monotonic() < deadline:
            continue
        break
    rec["e2e_ms"] = (time.monotonic() - t0) * 1000.0
    if status == 408:
        detail = ((result or {}).get("error") or {}).get("detail") or {} if isinstance(result, dict) else {}
        rec["status"] = detail.get("status")
        rec["error"] = "still %s after %.0f s (result answered 408)" % (detail.get("status", "active"), run_timeout)
    elif status != 200 or not isinstance(result, dict):
        rec["error"] = "result answered %s: %s" % (status, json.dumps(result)[:500])
    else:
        run = result.get("run") or {}
        rec["status"] = run.get("status")
        rec["warnings"] = run.get("warnings")
        output = result.get("output") or {}
        rec["content"] = output.get("content")
        rec["basis"] = output.get("basis") or []
        if output.get("type") != "json" or not isinstance(rec["content"], dict):
            rec["error"] = "output is not a JSON object: %s" % json.dumps(output)[:300]
    if status == 408:
        return rec  # still active: its event stream would not end
    try:
        st, text = api.request("GET", "/v1/tasks/runs/%s/events" % run_id, timeout=60, raw=True)
        if st == 200:
            rec["events"] = parse_sse(text)
            rec["pipeline_ms"] = pipeline_ms(rec["events"])
    except (OSError, http.client.HTTPException) as e:
        rec["events_error"] = str(e)
    return rec


# --------------------------------------------------------------------------------------------
# Page texts for the citation check


def norm_text(s):
    return re.sub(r"\s+", " ", s).strip().lower()


def html_main_text(raw):
    """The page's main content as bench/eval/check_questions.py reads it: <main> (or <body>)
    without scripts, styles, <aside> blocks and the comment section."""
    s = re.sub(r"(?s)<(script|style|template|noscript)\b.*?</\1>", " ", raw)
    m = re.search(r"(?s)<main\b.*?</main>", s) or re.search(r"(?s)<body\b.*?</body>", s)
    s = m.group(0) if m else s
    s = re.sub(r'(?s)<section class="comments".*?</section>', " ", s)
    s = re.sub(r"(?s)<aside\b.*?</aside>", " ", s)
    return norm_text(html.unescape(re.sub(r"<[^>]+>", " ", s)))


def html_all_text(raw):
    s = re.sub(r"(?s)<(script|style|template|noscript)\b.*?</\1>", " ", raw)
    return norm_text(html.unescape(re.sub(r"<[^>]+>", " ", s)))


class PageTexts:
    def __init__(self):
        self.pdftotext = shutil.which("pdftotext")
        self.notes = []
        if not self.pdftotext:
            self.notes.append("pdftotext not found: a citation of the PDF counts as correct exactly "
                              "when the PDF is among the question's `source` pages")
        self.cache = {}

    def text(self, rel, main=True):
        """Normalised text of fixture page `rel`, or None (not a page / unreadable PDF)."""
        key = (rel, main)
        if key in self.cache:
            return self.cache[key]
        path = os.path.join(WEB, rel)
        out = None
        if os.path.isfile(path) and os.path.realpath(path).startswith(os.path.realpath(WEB) + os.sep):
            if rel.endswith(".pdf"):
                if self.pdftotext:
                    p = subprocess.run([self.pdftotext, path, "-"], capture_output=True, text=True)
                    out = norm_text(p.stdout) if p.returncode == 0 else None
            elif rel.endswith((".html", ".htm")):
                with open(path, encoding="utf-8") as f:
                    raw = f.read()
                out = html_main_text(raw) if main else html_all_text(raw)
        self.cache[key] = out
        return out


def fixture_rel(url, port):
    """The fixture path a cited URL names (`wiki.example/Quellmoor.html`), or None."""
    try:
        u = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    if u.scheme not in ("http", "https") or u.hostname not in ("127.0.0.1", "localhost") or u.port != port:
        return None
    path = urllib.parse.unquote(u.path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    if ".." in path.split("/"):
        return None
    return path


# --------------------------------------------------------------------------------------------
# Scoring


def field_kind(schema):
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t == "string" and "enum" in schema:
        return "enum"
    # Output schemas may not use "format" (Parallel's rule): a date field says so in its
    # description.
    if t == "string" and "YYYY-MM-DD" in schema.get("description", ""):
        return "date"
    return t or "?"


def str_match(rule, expected, got):
    if not isinstance(got, str):
        return False
    e, g = norm_text(expected), norm_text(got)
    return e in g if rule == "contains" else e == g


def is_correct(kind, rule, expected, got):
    if got is None:
        return False
    if kind == "integer" or kind == "number":
        if isinstance(got, bool) or not isinstance(got, (int, float)) or not math.isfinite(got):
            return False
        if kind == "integer" or isinstance(expected, int) and expected == 0:
            return float(got) == float(expected)
        return abs(got - expected) <= NUMBER_REL_TOL * abs(expected)
    if kind == "boolean":
        return isinstance(got, bool) and got == expected
    if kind in ("date", "enum"):
        return str_match("exact", expected, got)
    if kind == "string":
        return str_match(rule or "exact", expected, got)
    if kind == "array":
        if not isinstance(got, list):
            return False
        return all(any(str_match(rule or "exact", e, g) for g in got) for e in expected)
    return got == expected


def basis_citations(basis, field):
    """Citations of a field: its own basis entry's, then those of its `field.N` entries."""
    own, elements = [], []
    for entry in basis or []:
        name = entry.get("field")
        if name == field:
            own.extend(entry.get("citations") or [])
        elif isinstance(name, str) and re.fullmatch(re.escape(field) + r"\.\d+", name):
            elements.extend(entry.get("citations") or [])
    return own + elements


def basis_entry(basis, field):
    return next((e for e in basis or [] if e.get("field") == field), None)


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


def value_forms(kind, expected):
    """Textual forms of an expected value distinctive enough to look for on a page, as regexes
    over normalised text. Small integers, booleans and enum members have none (they would be
    found almost anywhere); only the question's `evidence` strings count for them."""
    def num(form):
        return r"(?<![\d.,])" + re.escape(form) + r"(?![\d]|[.,]\d)"

    values = expected if isinstance(expected, list) else [expected]
    forms = []
    for v in values:
        if kind in ("string", "array") and isinstance(v, str) and len(v.strip()) >= 3:
            forms.append(re.escape(norm_text(v)))
        elif kind == "date" and isinstance(v, str):
            m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", v)
            if m:
                y, mo, d = int(m.group(1)), MONTHS[int(m.group(2)) - 1].lower(), int(m.group(3))
                forms += [re.escape(v), r"\b%d %s %d\b" % (d, mo, y), r"\b%s %d, %d\b" % (mo, d, y)]
        elif kind in ("integer", "number") and isinstance(v, (int, float)) and not isinstance(v, bool):
            if float(v).is_integer():
                n = int(v)
                if abs(n) >= 100:
                    forms += [num(str(n)), num("{:,}".format(n))]
            else:
                forms.append(num(repr(float(v))))
    return forms


def states_value(text, evidence, forms):
    """'evidence' if `text` holds one of the evidence strings, 'form' if only a textual form of
    the value, else None."""
    if any(e in text for e in evidence):
        return "evidence"
    if any(re.search(f, text) for f in forms):
        return "form"
    return None


def score_run(q, rec, texts, port):
    """Per-field verdicts of one run."""
    props = q["output_schema"]["properties"]
    content = rec["content"] if isinstance(rec.get("content"), dict) else {}
    fields = []
    for field, schema in props.items():
        kind = field_kind(schema)
        rule = q.get("match", {}).get(field)
        expected = q["expected"][field]
        got = content.get(field)
        correct = rec["error"] is None and is_correct(kind, rule, expected, got)
        evidence = [norm_text(e) for e in q["evidence"].get(field, [])]
        forms = value_forms(kind, expected)
        citations = basis_citations(rec.get("basis"), field)
        cited = []
        cite_ok = False
        cite_by_evidence = False
        excerpt_ok = False
        for c in citations:
            url = c.get("url") or ""
            rel = fixture_rel(url, port)
            how = None
            if rel is not None:
                t = texts.text(rel)
                if t is None and rel.endswith(".pdf") and not texts.pdftotext:
                    how = "evidence" if rel in q["source"] else None
                elif t is not None:
                    how = states_value(t, evidence, forms)
            exc = norm_text(" ".join(x for x in (c.get("excerpts") or []) if isinstance(x, str)))
            ex_ok = states_value(exc, evidence, forms) is not None
            cited.append({"url": url, "page": rel, "page_states_value": how, "excerpt_states_value": ex_ok})
            cite_ok = cite_ok or how is not None
            cite_by_evidence = cite_by_evidence or how == "evidence"
            excerpt_ok = excerpt_ok or (how is not None and ex_ok)
        entry = basis_entry(rec.get("basis"), field) or {}
        fields.append({
            "id": q["id"], "field": field, "kind": kind, "rule": rule, "difficulty": q.get("difficulty"),
            "expected": expected, "got": got, "present": field in content, "correct": correct,
            "citation_ok": cite_ok, "citation_by_evidence": cite_by_evidence, "excerpt_ok": excerpt_ok,
            "cited": cited,
            "confidence": entry.get("confidence"), "reasoning": entry.get("reasoning"),
            "excerpts": [x for c in citations for x in (c.get("excerpts") or [])][:3],
            "source": q["source"], "evidence": q["evidence"].get(field, []),
        })
    return fields


def pct(n, d):
    return "%5.1f%%" % (100.0 * n / d) if d else "   n/a"


def percentile(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(v)))
    return v[k - 1]


def fmt_ms(x):
    return "n/a" if x is None else ("%.1f ms" % x)


def summarise(processor, recs, fields):
    n = len(fields)
    correct = [f for f in fields if f["correct"]]
    cited = [f for f in correct if f["citation_ok"]]
    pipe = [r["pipeline_ms"] for r in recs if r["pipeline_ms"] is not None]
    e2e = [r["e2e_ms"] for r in recs if r["e2e_ms"] is not None and r["error"] is None]
    by_kind = {}
    for f in fields:
        k = by_kind.setdefault(f["kind"], [0, 0, 0])
        k[0] += 1
        k[1] += f["correct"]
        k[2] += f["correct"] and f["citation_ok"]
    by_diff = {}
    for f in fields:
        k = by_diff.setdefault(f["difficulty"] or "?", [0, 0, 0])
        k[0] += 1
        k[1] += f["correct"]
        k[2] += f["correct"] and f["citation_ok"]
    return {
        "processor": processor,
        "runs": len(recs),
        "failed_runs": sum(1 for r in recs if r["error"] is not None),
        "runs_without_timing": sum(1 for r in recs if r["error"] is None and r["pipeline_ms"] is None),
        "fields": n,
        "correct": len(correct),
        "correct_cited": len(cited),
        "correct_cited_by_form_only": sum(1 for f in cited if not f["citation_by_evidence"]),
        "correct_excerpt": sum(1 for f in cited if f["excerpt_ok"]),
        "field_accuracy": len(correct) / n if n else 0.0,
        "citation_accuracy": len(cited) / len(correct) if correct else 0.0,
        "correct_with_citation": len(cited) / n if n else 0.0,
        "pipeline_ms_median": statistics.median(pipe) if pipe else None,
        "pipeline_ms_p90": percentile(pipe, 90),
        "pipeline_ms_max": max(pipe) if pipe else None,
        "e2e_ms_median": statistics.median(e2e) if e2e else None,
        "e2e_ms_p90": percentile(e2e, 90),
        "by_kind": by_kind,
        "by_difficulty": by_diff,
    }


def short(v, n=70):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[: n - 1] + "…"


def cited_urls(f):
    pages = [c["page"] or c["url"] for c in f["cited"]]
    seen = []
    for p in pages:
        if p not in seen:
            seen.append(p)
    return ", ".join(seen) if seen else "(no citation)"


# --------------------------------------------------------------------------------------------
# Report


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "?"
    return {"nproc": nproc, "cpu": cpu, "os": platform.platform(), "python": platform.python_version(),
            "loadavg_at_start": load}


def commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "") if head else "?"
    except OSError:
        return "?"


def print_report(meta, summaries, all_runs, all_fields, max_wrong):
    out = []
    p = out.append
    p("=" * 100)
    p("Parallax evaluation: %d questions (%d fields) over the fixture web, extractive (no LLM)"
      % (meta["questions"], meta["fields_per_processor"]))
    p("machine: %d CPUs, %s; load at start %s" % (meta["machine"]["nproc"], meta["machine"]["cpu"],
                                                 meta["machine"]["loadavg_at_start"]))
    p("commit:  %s; binary %s, built %s" % (meta["commit"], meta["binary"], meta["binary_built"]))
    p("index:   %d pages indexed, %d skipped, in %.1f s; concurrency %d"
      % (meta["index"]["indexed"], meta["index"]["skipped"], meta["index"]["seconds"], meta["concurrency"]))
    for note in meta["notes"]:
        p("note:    " + note)
    p("")
    row = "%-6s %6s %8s %8s %8s %8s %9s %9s %9s %10s %6s"
    p(row % ("proc", "fields", "field", "citation", "correct", "excerpt", "pipeline", "pipeline", "pipeline",
             "end-to-end", "failed"))
    p(row % ("", "", "accuracy", "accuracy", "+cited", "support", "median", "p90", "max", "median", "runs"))
    for s in summaries:
        p(row % (
            s["processor"], s["fields"], pct(s["correct"], s["fields"]), pct(s["correct_cited"], s["correct"]),
            pct(s["correct_cited"], s["fields"]), pct(s["correct_excerpt"], s["correct_cited"]),
            fmt_ms(s["pipeline_ms_median"]), fmt_ms(s["pipeline_ms_p90"]), fmt_ms(s["pipeline_ms_max"]),
            fmt_ms(s["e2e_ms_median"]), s["failed_runs"]))
    p("")
    p("field accuracy    = fields answered correctly / all expected fields")
    p("citation accuracy = of the correct fields, those citing a fixture page whose main text states the value")
    p("                    (one of the field's `evidence` strings, or the value's own textual form)")
    p("correct+cited     = fields both correct and correctly cited / all fields (the accuracy target)")
    p("excerpt support   = of the correct+cited fields, those whose cited excerpt itself states the value")
    p("pipeline          = first task_run.progress_msg.plan → task_run.progress_msg.result event (no LLM calls)")
    p("end-to-end        = POST /v1/tasks/runs → result received, at concurrency %d" % meta["concurrency"])
    p("failed runs       = runs that failed, or were still active after --run-timeout (their fields count wrong)")
    by_form = ["%s %d" % (s["processor"], s["correct_cited_by_form_only"]) for s in summaries]
    p("correct citations found only through the value's textual form, not an `evidence` string: "
      + ", ".join(by_form))
    p("")
    kinds = sorted({k for s in summaries for k in s["by_kind"]})
    p("by field type (correct / correct+cited out of n):")
    p("  %-10s" % "type" + "".join("%24s" % s["processor"] for s in summaries))
    for k in kinds:
        row = "  %-10s" % k
        for s in summaries:
            n, c, cc = s["by_kind"].get(k, [0, 0, 0])
            row += "%24s" % ("%2d/%2d  %2d/%2d  (%3.0f%%)" % (c, n, cc, n, 100.0 * cc / n if n else 0))
        p(row)
    p("by difficulty (correct / correct+cited out of n):")
    for d in sorted({d for s in summaries for d in s["by_difficulty"]}):
        row = "  %-10s" % d
        for s in summaries:
            n, c, cc = s["by_difficulty"].get(d, [0, 0, 0])
            row += "%24s" % ("%2d/%2d  %2d/%2d  (%3.0f%%)" % (c, n, cc, n, 100.0 * cc / n if n else 0))
        p(row)
    p("")
    for s in summaries:
        fields = all_fields[s["processor"]]
        wrong = [f for f in fields if not f["correct"]]
        uncited = [f for f in fields if f["correct"] and not f["citation_ok"]]
        p("-" * 100)
        for r in all_runs[s["processor"]]:
            if r["error"]:
                p("%s: run %s %s failed: %s" % (s["processor"], r["id"], r["run_id"] or "", r["error"][:160]))
        p("%s: %d wrong answers%s" % (s["processor"], len(wrong),
                                        "" if len(wrong) <= max_wrong else " (first %d shown)" % max_wrong))
        for f in wrong[:max_wrong]:
            got = "(missing)" if not f["present"] else short(f["got"])
            p("  %-4s %-22s expected %-28s got %s" % (f["id"], f["field"], short(f["expected"], 28), got))
            p("       cited: %s" % cited_urls(f))
        if uncited:
            p("%s: %d correct answers without a correct citation" % (s["processor"], len(uncited)))
            for f in uncited[:max_wrong]:
                p("  %-4s %-22s %-30s cited: %s" % (f["id"], f["field"], short(f["got"], 30), cited_urls(f)))
    p("-" * 100)
    p("targets:")
    ok_all = True
    for s in summaries:
        ok = s["correct_with_citation"] >= TARGET_CORRECT_CITED
        ok_all &= ok
        p("  %s  %-5s correct with correct citation %.1f%% >= %.0f%%" % (
            "PASS" if ok else "FAIL", s["processor"], 100 * s["correct_with_citation"], 100 * TARGET_CORRECT_CITED))
    lite = next((s for s in summaries if s["processor"] == "lite"), None)
    if lite is not None:
        med = lite["pipeline_ms_median"]
        ok = med is not None and med <= TARGET_LITE_PIPELINE_MS
        ok_all &= ok
        p("  %s  lite  median pipeline time %s <= %.0f ms" % ("PASS" if ok else "FAIL", fmt_ms(med),
                                                             TARGET_LITE_PIPELINE_MS))
    else:
        p("  n/a   lite  median pipeline time (lite was not evaluated)")
    p("overall: %s" % ("PASS" if ok_all else "FAIL"))
    print("\n".join(out), flush=True)
    return ok_all


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processors", default="lite,base,core", help="comma-separated (default lite,base,core)")
    ap.add_argument("--concurrency", type=int, default=4, help="runs in flight at once (default 4)")
    ap.add_argument("--json", metavar="OUT", help="write the raw results (runs, verdicts, summaries) here")
    ap.add_argument("--skip-build", action="store_true", help="use the existing target/release/parallax")
    ap.add_argument("--binary", default=DEFAULT_BINARY, help="parallax binary (default target/release/parallax)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory (index, database, serve.log)")
    ap.add_argument("--only", help="comma-separated question ids to ask (default: all)")
    ap.add_argument("--run-timeout", type=float, default=60,
                    help="seconds to wait for one run before counting it failed (default 60; an extractive "
                         "run takes milliseconds, so a run this slow is stuck)")
    ap.add_argument("--max-wrong", type=int, default=1000, help="wrong answers listed per processor")
    args = ap.parse_args()

    processors = [p.strip() for p in args.processors.split(",") if p.strip()]
    with open(QUESTIONS, encoding="utf-8") as f:
        questions = json.load(f)
    if args.only:
        wanted = set(args.only.split(","))
        questions = [q for q in questions if q["id"] in wanted]
        if not questions:
            raise SetupError("--only matched no question")

    if not args.skip_build:
        build()
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        raise SetupError("no parallax binary at %s (build it, or drop --skip-build)" % args.binary)

    built = datetime.datetime.fromtimestamp(os.path.getmtime(args.binary)).astimezone()
    meta = {"machine": machine(), "commit": commit(), "binary": os.path.relpath(args.binary, REPO),
            "binary_built": built.isoformat(timespec="seconds"),
            "questions": len(questions), "concurrency": args.concurrency, "processors": processors,
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "fields_per_processor": sum(len(q["output_schema"]["properties"]) for q in questions)}
    texts = PageTexts()
    meta["notes"] = list(texts.notes)

    fixture, port, _ = start_fixture_server()
    data_dir = tempfile.mkdtemp(prefix="parallax-eval-")
    server = None
    try:
        log("fixture web on http://127.0.0.1:%d/ ; data dir %s" % (port, data_dir))
        meta["index"] = index_add(args.binary, data_dir, "http://127.0.0.1:%d/sitemap.xml" % port)
        if meta["index"]["skipped"]:
            meta["notes"].append("index add skipped %d page(s): %s" % (meta["index"]["skipped"],
                                                                       meta["index"]["stderr"][-500:]))
        log("indexed %(indexed)d page(s), %(skipped)d skipped, in %(seconds).1f s" % meta["index"])
        key = "px_eval_" + secrets.token_hex(12)
        server = ParallaxServer(args.binary, data_dir, key)
        log("parallax serving on %s" % server.base)
        api = Api(server.host, server.port, key)

        results = {}
        all_fields = {}
        summaries = []
        for processor in processors:
            log("asking %d questions with %s (concurrency %d)" % (len(questions), processor, args.concurrency))
            t0 = time.monotonic()
            pool = concurrent.futures.ThreadPoolExecutor(args.concurrency)
            try:
                futs = [pool.submit(ask, api, processor, q, args.run_timeout) for q in questions]
                recs = []
                for q, fut in zip(questions, futs):
                    try:
                        recs.append(fut.result())
                    except (OSError, http.client.HTTPException) as e:
                        recs.append({"id": q["id"], "processor": processor, "error": "request failed: %s" % e,
                                     "content": None, "basis": [], "events": [], "pipeline_ms": None,
                                     "e2e_ms": None, "run_id": None, "status": None})
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if server.proc.poll() is not None:
                raise SetupError("parallax serve exited (status %s) during the evaluation; see %s"
                                 % (server.proc.returncode, server.log_path))
            if all(r["error"] and r["error"].startswith("create answered") for r in recs):
                raise SetupError("every run creation failed, e.g. %s" % recs[0]["error"])
            n_failed = sum(1 for r in recs if r["error"])
            log("%s: done in %.1f s%s" % (processor, time.monotonic() - t0,
                                          ", %d run(s) failed or timed out" % n_failed if n_failed else ""))
            fields = []
            for q, rec in zip(questions, recs):
                rec["fields"] = score_run(q, rec, texts, port)
                fields.extend(rec["fields"])
            results[processor] = recs
            all_fields[processor] = fields
            summaries.append(summarise(processor, recs, fields))

        panics = server.panics()
        if panics:
            meta["notes"].append("the server logged %d panic(s) (see serve.log; --keep keeps it), first: %s"
                                 % (panics, server.first_panic()))
        ok = print_report(meta, summaries, results, all_fields, args.max_wrong)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"meta": meta, "targets": {"correct_with_citation": TARGET_CORRECT_CITED,
                                                     "lite_pipeline_ms_median": TARGET_LITE_PIPELINE_MS,
                                                     "met": ok},
                           "summaries": summaries, "runs": results}, f, indent=1, ensure_ascii=False)
            log("raw results written to %s" % args.json)
    finally:
        if server is not None:
            server.stop()
        fixture.shutdown()
        fixture.server_close()
        if args.keep:
            log("kept the data directory %s" % data_dir)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    # A SIGTERM unwinds like Ctrl-C, so that the servers are stopped and the data dir removed.
    def on_sigterm(*_):
        for s in SERVERS:  # first, so that requests in flight fail at once
            s.stop()
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main())
    except SetupError as e:
        log("setup error: %s" % e)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
