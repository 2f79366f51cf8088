#!/usr/bin/env python3
"""Evaluate Parallax's research engine on the fixture web and the evaluation web.

Serves tests/fixtures/web/ and bench/eval/web/ as one document root on a loopback port, builds a
local index from the union of their sitemaps in a temporary data directory, starts `parallax serve`
on it (no LLM unless --llm-base-url and --llm-model are given), asks the questions of
bench/eval/questions.json of the chosen part (dev, held-out or all; the split is by world, see
`split_questions`) through the Task Run API with each processor, and prints field accuracy,
citation accuracy, invented values, calibration and pipeline time. Held-out results are totals
only unless --show-held-out-details; every run that asks held-out questions is logged in
bench/eval/HELD-OUT-LOG.md. See bench/eval/README.md for what each figure means.

    python3 bench/eval/run.py [--processors lite,base,core,pro] [--part dev|held-out|all]
                              [--json OUT] [--skip-build] [--keep]

Standard library only. Exits 0 when the evaluation ran (whether or not the targets are met), and
nonzero when it could not be set up (build, fixture server, index or API server failed, or a
question that cannot be placed in a world).
"""
import argparse
import concurrent.futures
import datetime
import functools
import hashlib
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
WEB = os.path.join(REPO, "tests", "fixtures", "web")  # the fixture web: its questions are dev
EVAL_WEB = os.path.join(HERE, "web")  # the evaluation web: <world>/<site>/<page>, split by world
QUESTIONS = os.path.join(HERE, "questions.json")
HELD_OUT_LOG = os.path.join(HERE, "HELD-OUT-LOG.md")
DEFAULT_BINARY = os.path.join(REPO, "target", "release", "parallax")
DEFAULT_PROCESSORS = "lite,base,core,pro"

# The split rule's salt: changing it reshuffles the worlds (and makes every earlier held-out
# figure incomparable); never change it to move a world you have looked at.
SPLIT_SALT = "parallax-eval-split-v1/"
PARTS = ("dev", "held-out")

# Targets of issue 11, item 6 (extractive: no LLM), checked on each part asked.
TARGET_FIELD_ACCURACY = {"lite": 0.75, "core": 0.82}  # fields right
TARGET_CITATIONS = 0.95  # of the right non-null fields, those citing a page that states the value
TARGET_INVENTED = 0  # invented values, per processor
TARGET_HIGH_CONFIDENCE = 0.95  # fields answered with confidence "high" that are right
TARGET_LITE_PIPELINE_MS = 50.0  # median pipeline time of `lite` on the local index (strictly below)

NUMBER_REL_TOL = 0.005  # `number` fields: within 0.5 % relative; `integer` fields: exact
CONFIDENCES = ("high", "medium", "low")


class SetupError(Exception):
    """The evaluation could not be set up (exit status 2)."""


def log(msg):
    print("[eval] " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The document root: the fixture web, then the evaluation web


def web_roots(eval_web=None):
    """The folders served as one document root, in look-up order: tests/fixtures/web, then the
    evaluation web (when it exists)."""
    eval_web = EVAL_WEB if eval_web is None else eval_web
    return [WEB] + ([eval_web] if os.path.isdir(eval_web) else [])


def shown(path):
    """A path as the report shows it: relative to the repository when inside it."""
    rel = os.path.relpath(os.path.abspath(path), REPO)
    return os.path.abspath(path) if rel.startswith("..") else rel


def resolve_page(rel, roots):
    """The file a root-relative path names: the first root that has it, or None."""
    if ".." in rel.split("/"):
        return None
    for root in roots:
        path = os.path.join(root, rel)
        if os.path.isfile(path) and os.path.realpath(path).startswith(os.path.realpath(root) + os.sep):
            return path
    return None


def all_pages(roots):
    """Every page (HTML or PDF) of the document root, as root-relative paths; a path in an
    earlier root hides the same path in a later one."""
    pages = set()
    for root in roots:
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(".")]
            for f in files:
                if f.endswith((".html", ".htm", ".pdf")):
                    pages.add(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/"))
    return sorted(pages)


SITEMAP_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- The union of the fixture web's and the evaluation web's sitemaps, served by bench/eval/run.py. -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
"""


def merged_sitemap(roots, host):
    """One sitemap with the <url> entries of every root's sitemap.xml (the first of equal
    <loc>s kept), FIXTURE_HOST replaced by `host`."""
    entries, seen = [], set()
    for root in roots:
        path = os.path.join(root, "sitemap.xml")
        if not os.path.isfile(path):
            if root == WEB:
                raise SetupError("no sitemap.xml in %s" % root)
            log("note: %s has no sitemap.xml: its pages are served but not indexed" % root)
            continue
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"(?s)<!--.*?-->", " ", f.read())
        for m in re.finditer(r"(?s)<url(?:\s[^>]*)?>.*?</url>", text):
            loc = re.search(r"(?s)<loc>(.*?)</loc>", m.group(0))
            key = loc.group(1).strip() if loc else m.group(0)
            if key not in seen:
                seen.add(key)
                entries.append(re.sub(r"\s+", " ", m.group(0)))
    body = SITEMAP_HEAD + "".join("  %s\n" % e for e in entries) + "</urlset>\n"
    return body.replace("FIXTURE_HOST", host).encode("utf-8")


class FixtureHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        "": "application/octet-stream",
        ".html": "text/html; charset=utf-8",
        ".htm": "text/html; charset=utf-8",
        ".pdf": "application/pdf",
        ".xml": "application/xml",
        ".txt": "text/plain; charset=utf-8",
    }

    def __init__(self, *args, roots=(), sitemap=b"", **kwargs):
        self.roots = list(roots)
        self.sitemap = sitemap
        super().__init__(*args, directory=self.roots[0], **kwargs)

    def translate_path(self, path):
        """The path in the first root that has it (file or folder), else in the first root
        (which answers 404)."""
        first = None
        for root in self.roots:
            self.directory = root
            p = super().translate_path(path)
            first = first or p
            if os.path.exists(p):
                return p
        self.directory = self.roots[0]
        return first

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


def start_fixture_server(roots=None):
    """Serves `roots` (default: the fixture web, then the evaluation web) as one document root
    on 127.0.0.1:<free port>, with the union of their sitemaps at /sitemap.xml; returns
    (server, port, sitemap bytes)."""
    roots = web_roots() if roots is None else list(roots)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_address[1]
    try:
        sitemap = merged_sitemap(roots, "127.0.0.1:%d" % port)
    except BaseException:
        server.server_close()
        raise
    server.RequestHandlerClass = functools.partial(FixtureHandler, roots=roots, sitemap=sitemap)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fixture-web", daemon=True).start()
    return server, port, sitemap


# --------------------------------------------------------------------------------------------
# The dev / held-out split (by world, never by question)


def eval_worlds(eval_web):
    """The worlds of the evaluation web: its top-level folders."""
    if not os.path.isdir(eval_web):
        return []
    return sorted(d for d in os.listdir(eval_web)
                  if os.path.isdir(os.path.join(eval_web, d)) and not d.startswith("."))


def split_questions(questions, eval_web=None, fixture_web=None):
    """THE split rule (bench/eval/README.md, "Dev and held-out"). Returns
    ({question id: (part, world)}, held-out worlds, all worlds of the evaluation web).

    - A question whose `source` pages all are pages of the fixture web (tests/fixtures/web) is
      dev, world "fixture": those pages were tuned on.
    - Any other question belongs to one world of the evaluation web: the first path component
      of its `source` pages, which must all agree (a question with no `source` page, every
      field unanswerable, names it in a `world` key instead).
    - The held-out worlds are the floor(n/2) of the evaluation web's n worlds (its top-level
      folders, whether or not questions use them) with the smallest
      sha256(SPLIT_SALT + world) hex digest; the other worlds are dev.

    Raises SetupError for a question that cannot be placed: sources in both webs, in several
    worlds, in no world of the evaluation web, or none at all.
    """
    eval_web = EVAL_WEB if eval_web is None else eval_web
    fixture_web = WEB if fixture_web is None else fixture_web
    worlds = eval_worlds(eval_web)
    by_digest = sorted(worlds, key=lambda w: hashlib.sha256((SPLIT_SALT + w).encode("utf-8")).hexdigest())
    held_out = set(by_digest[: len(worlds) // 2])
    placed = {}
    problems = []
    for q in questions:
        qid = q.get("id", "?")
        sources = q.get("source") or []
        in_fixture = [s for s in sources if os.path.isfile(os.path.join(fixture_web, s))]
        if sources and len(in_fixture) == len(sources):
            if q.get("world") not in (None, "fixture"):
                problems.append("%s: its sources are fixture-web pages but it names world %r" % (qid, q["world"]))
            placed[qid] = ("dev", "fixture")
            continue
        if in_fixture:
            problems.append("%s: sources both in the fixture web (%s) and outside it (%s)" % (
                qid, ", ".join(in_fixture), ", ".join(s for s in sources if s not in in_fixture)))
            continue
        named = {s.split("/", 1)[0] for s in sources}
        if q.get("world") is not None:
            named.add(q["world"])
        if len(named) != 1:
            problems.append("%s: its sources must all be in one world, found %s" % (
                qid, ", ".join(sorted(named)) if named else "no source page and no `world`"))
            continue
        world = named.pop()
        if world not in worlds:
            problems.append("%s: %r is neither a fixture-web page's site nor a world of %s" % (
                qid, world, shown(eval_web)))
            continue
        placed[qid] = ("held-out" if world in held_out else "dev", world)
    if problems:
        raise SetupError("questions that cannot be placed in the dev/held-out split:\n  " + "\n  ".join(problems))
    return placed, held_out, worlds


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
    def __init__(self, binary, data_dir, api_key, extra_args=(), log_name="serve.log", extra_env=None):
        SERVERS.append(self)
        self.log_path = os.path.join(data_dir, log_name)
        self.log_file = open(self.log_path, "w")
        cmd = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
               "--api-key", api_key, "--allow-private-fetch", "--search", "local", *extra_args]
        env = child_env()
        env.update(extra_env or {})  # e.g. PARALLAX_LLM_API_KEY: kept out of the command line
        self.proc = subprocess.Popen(cmd, cwd=data_dir, env=env, stdout=subprocess.PIPE,
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


def crude_pdf_text(path):
    """The text of a PDF whose content streams are uncompressed (as `make_pdf.py` writes them):
    the strings of its `Tj` / `TJ` operators, one line each; None for any other PDF. Used only
    when `pdftotext` is missing."""
    with open(path, "rb") as f:
        data = f.read()
    if b"/Filter" in data:
        return None
    lines = []
    for m in re.finditer(rb"(\((?:\\.|[^\\)])*\)|\[(?:[^\]\\]|\\.)*\])\s*T[jJ]", data):
        parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)", m.group(1))
        lines.append("".join(re.sub(rb"\\(.)", rb"\1", x).decode("latin-1") for x in parts))
    return "\n".join(lines) if lines else None


class PageTexts:
    """Normalised main texts of the pages of the document root (both webs)."""

    def __init__(self, roots):
        self.roots = list(roots)
        self.pdftotext = shutil.which("pdftotext")
        self.notes = []
        if not self.pdftotext:
            self.notes.append("pdftotext not found: PDFs are read by a crude reader of uncompressed text "
                              "operators; a citation of a PDF it cannot read counts as correct exactly when the "
                              "PDF is among the question's `source` pages, and such a PDF states no value for "
                              "the invented-value check")
        self.cache = {}
        self._corpus = None
        self._stated = {}

    def text(self, rel, main=True):
        """Normalised text of page `rel` (root-relative), or None (not a page / unreadable PDF)."""
        key = (rel, main)
        if key in self.cache:
            return self.cache[key]
        path = resolve_page(rel, self.roots)
        out = None
        if path is not None:
            if rel.endswith(".pdf"):
                if self.pdftotext:
                    p = subprocess.run([self.pdftotext, path, "-"], capture_output=True, text=True)
                    out = norm_text(p.stdout) if p.returncode == 0 else None
                else:
                    crude = crude_pdf_text(path)
                    out = norm_text(crude) if crude else None
            elif rel.endswith((".html", ".htm")):
                with open(path, encoding="utf-8") as f:
                    raw = f.read()
                out = html_main_text(raw) if main else html_all_text(raw)
        self.cache[key] = out
        return out

    def corpus(self):
        """The main texts of every page of the document root."""
        if self._corpus is None:
            self._corpus = [t for t in (self.text(rel) for rel in all_pages(self.roots)) if t]
        return self._corpus

    def stated_anywhere(self, forms):
        """Whether some page of the document root states one of `forms` (regexes)."""
        key = tuple(forms)
        if key not in self._stated:
            pats = [re.compile(f) for f in forms]
            self._stated[key] = any(p.search(t) for t in self.corpus() for p in pats)
        return self._stated[key]


def fixture_rel(url, port):
    """The root-relative path a cited URL names (`wiki.example/Quellmoor.html`), or None."""
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
    """Whether `got` matches a non-null `expected` (an expected null is scored in `score_run`)."""
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

# Scale words a large round number may be written with: "$410 million", "$6.5bn", "12k".
SCALES = ((10 ** 9, r"(?: billion\b|bn\b|b\b)"), (10 ** 6, r"(?: million\b|mn?\b)"), (10 ** 3, r"(?: thousand\b|k\b)"))


def _num(form):
    return r"(?<![\d.,])" + re.escape(form) + r"(?![\d]|[.,]\d)"


def element_forms(kind, v):
    """Textual forms of one value (an array's element counts as a string), as regexes over
    normalised text; [] for values too common to look for (small integers, booleans, enum
    members, strings under 3 characters) and for values of the wrong type."""
    if kind in ("string", "array") and isinstance(v, str) and len(v.strip()) >= 3:
        return [re.escape(norm_text(v))]
    if kind == "date" and isinstance(v, str):
        m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", v.strip())
        if m and 1 <= int(m.group(2)) <= 12:
            y, mo, d = int(m.group(1)), MONTHS[int(m.group(2)) - 1].lower(), int(m.group(3))
            return [re.escape(v.strip()), r"\b%d %s %d\b" % (d, mo, y), r"\b%s %d, %d\b" % (mo, d, y)]
        return []
    if kind in ("integer", "number") and isinstance(v, (int, float)) and not isinstance(v, bool) \
            and math.isfinite(v):
        if not float(v).is_integer():
            return [_num(repr(float(v)))]
        n = int(v)
        if abs(n) < 100:
            return []
        forms = [_num(str(n)), _num("{:,}".format(n))]
        for unit, words in SCALES:
            if abs(n) >= unit and n % (unit // 1000 or 1) == 0:
                x = ("%.3f" % (n / unit)).rstrip("0").rstrip(".")
                forms.append(r"(?<![\d.,])" + re.escape(x) + words)
        return forms
    return []


def value_forms(kind, value):
    """Textual forms of a value (each element of a list) distinctive enough to look for on a
    page; see `element_forms`. Only the question's `evidence` strings count for the others."""
    values = value if isinstance(value, list) else [value]
    return [f for v in values for f in element_forms(kind, v)]


def states_value(text, evidence, forms):
    """'evidence' if `text` holds one of the evidence strings, 'form' if only a textual form of
    the value, else None."""
    if any(e in text for e in evidence):
        return "evidence"
    if any(re.search(f, text) for f in forms):
        return "form"
    return None


def norm_confidence(c):
    return c.lower() if isinstance(c, str) and c.lower() in CONFIDENCES else None


def score_run(q, rec, texts, port, part="dev", world="fixture"):
    """Per-field verdicts of one run."""
    props = q["output_schema"]["properties"]
    content = rec["content"] if isinstance(rec.get("content"), dict) else {}
    ran = rec["error"] is None
    fields = []
    for field, schema in props.items():
        kind = field_kind(schema)
        rule = q.get("match", {}).get(field)
        expected = q["expected"][field]
        got = content.get(field)
        present = field in content
        if expected is None:  # no page states it: right only when answered with JSON null
            correct = ran and present and got is None
        else:
            correct = ran and is_correct(kind, rule, expected, got)
        evidence = [norm_text(e) for e in q["evidence"].get(field, [])]
        forms = value_forms(kind, expected) if expected is not None else []
        citations = basis_citations(rec.get("basis"), field)
        cited = []
        cite_ok = False
        cite_by_evidence = False
        excerpt_ok = False
        for c in citations:
            url = c.get("url") or ""
            rel = fixture_rel(url, port)
            how = None
            if rel is not None and expected is not None:
                t = texts.text(rel)
                if t is None and rel.endswith(".pdf") and not texts.pdftotext:
                    how = "evidence" if rel in q["source"] else None
                elif t is not None:
                    how = states_value(t, evidence, forms)
            exc = norm_text(" ".join(x for x in (c.get("excerpts") or []) if isinstance(x, str)))
            ex_ok = expected is not None and states_value(exc, evidence, forms) is not None
            cited.append({"url": url, "page": rel, "page_states_value": how, "excerpt_states_value": ex_ok})
            cite_ok = cite_ok or how is not None
            cite_by_evidence = cite_by_evidence or how == "evidence"
            excerpt_ok = excerpt_ok or (how is not None and ex_ok)
        # An invented value: any answer where none is expected, or a wrong answer (an array: one of
        # its elements) whose textual forms no page of the whole root states. Values without
        # distinctive forms (small integers, booleans, enum members) count only in the first case.
        unstated = []
        if ran and got is not None and not correct:
            if expected is None:
                unstated = [got]
            else:
                for g in got if isinstance(got, list) else [got]:
                    fs = element_forms(kind, g)
                    if fs and not texts.stated_anywhere(fs):
                        unstated.append(g)
        entry = basis_entry(rec.get("basis"), field) or {}
        fields.append({
            "id": q["id"], "part": part, "world": world, "field": field, "kind": kind, "rule": rule,
            "difficulty": q.get("difficulty"), "shapes": (q.get("shapes") or {}).get(field, []),
            "expected": expected, "expected_null": expected is None, "got": got, "present": present,
            "ran": ran, "answered_null": ran and got is None, "correct": correct,
            "citation_ok": cite_ok, "citation_by_evidence": cite_by_evidence, "excerpt_ok": excerpt_ok,
            "invented": bool(unstated), "unstated": unstated, "cited": cited,
            "confidence": norm_confidence(entry.get("confidence")), "confidence_raw": entry.get("confidence"),
            "reasoning": entry.get("reasoning"),
            "excerpts": [x for c in citations for x in (c.get("excerpts") or [])][:3],
            "source": q["source"], "evidence": q["evidence"].get(field, []),
        })
    return fields


def pct(n, d):
    return "%5.1f%%" % (100.0 * n / d) if d else "   n/a"


def ratio(n, d):
    return n / d if d else None


def percentile(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(v)))
    return v[k - 1]


def fmt_ms(x):
    return "n/a" if x is None else ("%.1f ms" % x)


DETAIL_KEYS = ("by_kind", "by_difficulty", "by_shape")  # left out of held-out totals


def summarise(processor, part, recs, fields):
    """The figures of one processor over one part's runs."""
    n = len(fields)
    correct = [f for f in fields if f["correct"]]
    answerable = [f for f in fields if not f["expected_null"]]
    unanswerable = [f for f in fields if f["expected_null"]]
    right_non_null = [f for f in correct if not f["expected_null"]]
    cited = [f for f in right_non_null if f["citation_ok"]]
    pipe = [r["pipeline_ms"] for r in recs if r["pipeline_ms"] is not None]
    e2e = [r["e2e_ms"] for r in recs if r["e2e_ms"] is not None and r["error"] is None]
    calibration = {}
    for c in CONFIDENCES + (None,):
        fs = [f for f in fields if f["confidence"] == c]
        nn = [f for f in fs if f["got"] is not None]
        calibration[c or "none"] = {
            "fields": len(fs), "correct": sum(f["correct"] for f in fs),
            "share_correct": ratio(sum(f["correct"] for f in fs), len(fs)),
            "non_null_fields": len(nn), "non_null_correct": sum(f["correct"] for f in nn),
            "non_null_share_correct": ratio(sum(f["correct"] for f in nn), len(nn)),
        }
    by_kind, by_diff, by_shape = {}, {}, {}
    for f in fields:
        for table, key in ((by_kind, f["kind"]), (by_diff, f["difficulty"] or "?")):
            k = table.setdefault(key, [0, 0, 0])
            k[0] += 1
            k[1] += f["correct"]
            k[2] += f["correct"] and f["citation_ok"]
        for tag in f["shapes"]:
            k = by_shape.setdefault(tag, [0, 0, 0])
            k[0] += 1
            k[1] += f["correct"]
            k[2] += f["correct"] and f["citation_ok"]
    return {
        "processor": processor,
        "part": part,
        "runs": len(recs),
        "failed_runs": sum(1 for r in recs if r["error"] is not None),
        "runs_without_timing": sum(1 for r in recs if r["error"] is None and r["pipeline_ms"] is None),
        "fields": n,
        "correct": len(correct),
        "field_accuracy": ratio(len(correct), n),
        "right_non_null": len(right_non_null),
        "correct_cited": len(cited),
        "citation_accuracy": ratio(len(cited), len(right_non_null)),
        "correct_cited_by_form_only": sum(1 for f in cited if not f["citation_by_evidence"]),
        "correct_excerpt": sum(1 for f in cited if f["excerpt_ok"]),
        "correct_with_citation": ratio(len(cited), n),
        "invented": sum(f["invented"] for f in fields),
        "expected_null_fields": len(unanswerable),
        "expected_null_answered_null": sum(f["correct"] for f in unanswerable),
        "null_recall": ratio(sum(f["correct"] for f in unanswerable), len(unanswerable)),
        "answerable_fields": len(answerable),
        "answerable_answered_null": sum(f["answered_null"] for f in answerable),
        "calibration": calibration,
        "high_confidence_share_correct": calibration["high"]["share_correct"],
        "pipeline_ms_median": statistics.median(pipe) if pipe else None,
        "pipeline_ms_p90": percentile(pipe, 90),
        "pipeline_ms_max": max(pipe) if pipe else None,
        "e2e_ms_median": statistics.median(e2e) if e2e else None,
        "e2e_ms_p90": percentile(e2e, 90),
        "by_kind": by_kind,
        "by_difficulty": by_diff,
        "by_shape": by_shape,
    }


def totals_only(summary):
    return {k: v for k, v in summary.items() if k not in DETAIL_KEYS}


def targets(summaries, llm):
    """The target checks of one part: [{processor, name, text, value, target, pass}]."""
    out = []
    for s in summaries:
        p = s["processor"]
        if p in TARGET_FIELD_ACCURACY:
            t = TARGET_FIELD_ACCURACY[p]
            v = s["field_accuracy"]
            out.append({"processor": p, "name": "field_accuracy", "value": v, "target": t,
                        "pass": v is not None and v >= t,
                        "text": "fields right %s >= %.0f%%" % (pct(s["correct"], s["fields"]).strip(), 100 * t)})
        v = s["citation_accuracy"]
        out.append({"processor": p, "name": "citation_accuracy", "value": v, "target": TARGET_CITATIONS,
                    "pass": v is None or v >= TARGET_CITATIONS,
                    "text": "citations (right non-null fields citing a page that states the value) %s >= %.0f%%"
                            % (pct(s["correct_cited"], s["right_non_null"]).strip(), 100 * TARGET_CITATIONS)})
        out.append({"processor": p, "name": "invented", "value": s["invented"], "target": TARGET_INVENTED,
                    "pass": s["invented"] <= TARGET_INVENTED,
                    "text": "invented values %d = %d" % (s["invented"], TARGET_INVENTED)})
        c = s["calibration"]["high"]
        out.append({"processor": p, "name": "high_confidence_right", "value": c["share_correct"],
                    "target": TARGET_HIGH_CONFIDENCE,
                    "pass": c["share_correct"] is None or c["share_correct"] >= TARGET_HIGH_CONFIDENCE,
                    "text": "\"high\" confidence right %s of %d >= %.0f%%" % (
                        pct(c["correct"], c["fields"]).strip(), c["fields"], 100 * TARGET_HIGH_CONFIDENCE)})
        if p == "lite":
            med = s["pipeline_ms_median"]
            out.append({"processor": p, "name": "lite_pipeline_ms_median", "value": med,
                        "target": TARGET_LITE_PIPELINE_MS,
                        "pass": med is not None and med < TARGET_LITE_PIPELINE_MS,
                        "text": "median pipeline time %s < %.0f ms%s" % (
                            fmt_ms(med), TARGET_LITE_PIPELINE_MS, " (with an LLM)" if llm else "")})
    return out


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
        # The held-out log is appended to by the runs themselves: it does not make a build dirty.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)bench/eval/HELD-OUT-LOG.md"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "") if head else "?"
    except OSError:
        return "?"


def count_row(counts):
    n, c, cc = counts
    return "%3d/%3d %3d/%3d (%3.0f%%)" % (c, n, cc, n, 100.0 * c / n if n else 0)


def report_part(p, part, summaries, runs, fields, detail, max_wrong):
    """The report of one part: totals always; per-question rows only when `detail`."""
    n_q = summaries[0]["runs"] if summaries else 0
    n_f = summaries[0]["fields"] if summaries else 0
    n_null = summaries[0]["expected_null_fields"] if summaries else 0
    p("=" * 100)
    p("part %s: %d questions, %d fields (%d expected null)%s" % (
        part, n_q, n_f, n_null, "" if detail else "; totals only (--show-held-out-details shows more)"))
    row = "%-5s %6s %7s %8s %8s %8s %10s %8s %7s %9s %9s %9s %9s %6s"
    p(row % ("proc", "fields", "field", "citation", "invented", "null", "answerable", "correct", "excerpt",
             "pipeline", "pipeline", "pipeline", "end-to-end", "failed"))
    p(row % ("", "", "right", "accuracy", "values", "recall", "->null", "+cited", "support", "median", "p90",
             "max", "median", "runs"))
    for s in summaries:
        p(row % (
            s["processor"], s["fields"], pct(s["correct"], s["fields"]), pct(s["correct_cited"], s["right_non_null"]),
            s["invented"], pct(s["expected_null_answered_null"], s["expected_null_fields"]),
            "%d/%d" % (s["answerable_answered_null"], s["answerable_fields"]),
            pct(s["correct_cited"], s["fields"]), pct(s["correct_excerpt"], s["correct_cited"]),
            fmt_ms(s["pipeline_ms_median"]), fmt_ms(s["pipeline_ms_p90"]), fmt_ms(s["pipeline_ms_max"]),
            fmt_ms(s["e2e_ms_median"]), s["failed_runs"]))
    p("calibration: fields per basis confidence and the share right (all answers | non-null answers only)")
    for s in summaries:
        cells = []
        for c in CONFIDENCES + ("none",):
            k = s["calibration"][c]
            if c == "none" and not k["fields"]:
                continue
            cells.append("%s %3d %s | %3d %s" % (c, k["fields"], pct(k["correct"], k["fields"]),
                                                k["non_null_fields"], pct(k["non_null_correct"], k["non_null_fields"])))
        p("  %-5s %s" % (s["processor"], "   ".join(cells)))
    by_form = ["%s %d" % (s["processor"], s["correct_cited_by_form_only"]) for s in summaries]
    p("correct citations found only through the value's textual form, not an `evidence` string: " + ", ".join(by_form))
    if not detail:
        return
    p("")
    for title, key in (("by field type", "by_kind"), ("by difficulty", "by_difficulty"),
                       ("by shape (tags of the questions' `shapes`)", "by_shape")):
        keys = sorted({k for s in summaries for k in s[key]})
        if not keys:
            continue
        p("%s (right / right+cited out of n):" % title)
        p("  %-12s" % "" + "".join("%26s" % s["processor"] for s in summaries))
        for k in keys:
            p("  %-12s" % k + "".join("%26s" % count_row(s[key].get(k, [0, 0, 0])) for s in summaries))
    for s in summaries:
        proc_fields = fields[s["processor"]]
        wrong = [f for f in proc_fields if not f["correct"]]
        invented = [f for f in proc_fields if f["invented"]]
        uncited = [f for f in proc_fields if f["correct"] and not f["expected_null"] and not f["citation_ok"]]
        p("-" * 100)
        for r in runs[s["processor"]]:
            if r["error"]:
                p("%s: run %s %s failed: %s" % (s["processor"], r["id"], r["run_id"] or "", r["error"][:160]))
        p("%s %s: %d wrong answers%s" % (part, s["processor"], len(wrong),
                                           "" if len(wrong) <= max_wrong else " (first %d shown)" % max_wrong))
        for f in wrong[:max_wrong]:
            got = "(missing)" if not f["present"] else short(f["got"])
            p("  %-5s %-22s expected %-28s got %s%s" % (f["id"], f["field"], short(f["expected"], 28), got,
                                                        "  [invented]" if f["invented"] else ""))
            p("        confidence %s; cited: %s" % (f["confidence_raw"], cited_urls(f)))
        if invented:
            p("%s %s: %d invented values (no page of the root states them, or none was expected)"
              % (part, s["processor"], len(invented)))
            for f in invented[:max_wrong]:
                p("  %-5s %-22s expected %-28s unstated %s" % (f["id"], f["field"], short(f["expected"], 28),
                                                             short(f["unstated"])))
        if uncited:
            p("%s %s: %d right answers without a correct citation" % (part, s["processor"], len(uncited)))
            for f in uncited[:max_wrong]:
                p("  %-5s %-22s %-30s cited: %s" % (f["id"], f["field"], short(f["got"], 30), cited_urls(f)))


def print_report(meta, by_part, all_runs, all_fields, show_held_out, max_wrong):
    """Prints the report; returns {part: [target checks]}."""
    out = []
    p = out.append
    p("=" * 100)
    p("Parallax evaluation over the fixture web and the evaluation web; %s" % meta["llm_text"])
    p("machine: %d CPUs, %s; load at start %s" % (meta["machine"]["nproc"], meta["machine"]["cpu"],
                                                 meta["machine"]["loadavg_at_start"]))
    p("commit:  %s; binary %s, built %s" % (meta["commit"], meta["binary"], meta["binary_built"]))
    p("index:   %d pages indexed, %d skipped, in %.1f s; concurrency %d"
      % (meta["index"]["indexed"], meta["index"]["skipped"], meta["index"]["seconds"], meta["concurrency"]))
    sp = meta["split"]
    p("split:   %d worlds in %s; held-out (by the sha256 rule): %s; dev: fixture web%s"
      % (len(sp["worlds"]), sp["eval_web"], ", ".join(sp["held_out_worlds"]) or "none",
         "".join(", " + w for w in sp["worlds"] if w not in sp["held_out_worlds"])))
    p("asked:   part %s; %s" % (meta["part"], "; ".join(
        "%s %d questions (%d fields)" % (part, meta["asked"][part]["questions"], meta["asked"][part]["fields"])
        for part in PARTS if part in meta["asked"])))
    for note in meta["notes"]:
        p("note:    " + note)
    p("")
    p("field right        = fields answered correctly / all fields (an expected null is right only when answered null)")
    p("citation accuracy  = of the right non-null fields, those citing a page whose main text states the value")
    p("                     (one of the field's `evidence` strings, or the value's own textual form)")
    p("invented values    = non-null answers where none was expected, and wrong answers no page of the root states")
    p("null recall        = expected-null fields answered null; answerable->null = answerable fields answered null")
    p("correct+cited      = fields right and correctly cited / all fields (a diagnostic); excerpt support = of")
    p("                     those, the ones whose cited excerpt itself states the value")
    p("pipeline           = first task_run.progress_msg.plan -> task_run.progress_msg.result event%s"
      % (" (LLM calls included)" if meta["llm"] else " (no LLM calls)"))
    p("end-to-end         = POST /v1/tasks/runs -> result received, at concurrency %d" % meta["concurrency"])
    checks = {}
    for part in PARTS:
        if part not in by_part:
            continue
        detail = part == "dev" or show_held_out
        report_part(p, part, by_part[part], all_runs[part], all_fields[part], detail, max_wrong)
        checks[part] = targets(by_part[part], meta["llm"])
    p("=" * 100)
    p("targets%s:" % (" (set for extractive answers; this run used an LLM)" if meta["llm"] else " (extractive)"))
    for part in PARTS:
        if part not in checks:
            continue
        for c in checks[part]:
            p("  %s  %-8s %-5s %s" % ("PASS" if c["pass"] else "FAIL", part, c["processor"], c["text"]))
        p("  overall %s: %s" % (part, "PASS" if all(c["pass"] for c in checks[part]) else "FAIL"))
    print("\n".join(out), flush=True)
    return checks


LOG_HEADER = """# Held-out looks

Every run of `bench/eval/run.py` that asks held-out questions (`--part held-out` or `--part all`)
appends one line here, whatever its result: the date (UTC), the commit, the processors, whether an
LLM was used, and the held-out figures it printed. The held-out worlds are the half of the
evaluation web's worlds chosen by `split_questions` (see README.md, "Dev and held-out"); nobody
tunes on them. The log shows how often the held-out part was looked at, and between which
commits: commit it along with the change a look measured. "details shown" marks a run that printed
per-question held-out results (`--show-held-out-details`): after one, those worlds are no longer
unseen.

| date (UTC) | commit | processors | LLM | held-out questions (fields) | held-out figures |
| --- | --- | --- | --- | --- | --- |
"""


def append_held_out_log(meta, summaries, checks, show_details, path=HELD_OUT_LOG):
    figures = []
    for s in summaries:
        figures.append("%s: right %s, citations %s, invented %d, high right %s, null recall %s, median %s" % (
            s["processor"], pct(s["correct"], s["fields"]).strip(), pct(s["correct_cited"], s["right_non_null"]).strip(),
            s["invented"], pct(s["calibration"]["high"]["correct"], s["calibration"]["high"]["fields"]).strip(),
            pct(s["expected_null_answered_null"], s["expected_null_fields"]).strip(), fmt_ms(s["pipeline_ms_median"])))
    extra = []
    if checks:
        extra.append("targets %s" % ("PASS" if all(c["pass"] for c in checks) else "FAIL"))
    if show_details:
        extra.append("**details shown**")
    if meta["questions_file"] != shown(QUESTIONS) or meta["split"]["eval_web"] != shown(EVAL_WEB):
        extra.append("questions %s, web %s" % (meta["questions_file"], meta["split"]["eval_web"]))
    line = "| %s | %s | %s | %s | %d (%d) | %s |\n" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), meta["commit"],
        ",".join(meta["processors"]), meta["llm_model"] or "no",
        meta["asked"]["held-out"]["questions"], meta["asked"]["held-out"]["fields"],
        "; ".join(figures + extra).replace("|", "/"))
    new = not os.path.exists(path)
    with open(path, "a", encoding="utf-8") as f:
        if new:
            f.write(LOG_HEADER)
        f.write(line)
    log("held-out look logged in %s" % shown(path))


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processors", default=DEFAULT_PROCESSORS,
                    help="comma-separated (default %s)" % DEFAULT_PROCESSORS)
    ap.add_argument("--part", choices=("dev", "held-out", "all"), default="dev",
                    help="which questions to ask (default dev); see README.md, \"Dev and held-out\"")
    ap.add_argument("--show-held-out-details", action="store_true",
                    help="also print (and write to --json) per-question held-out results; the log says so")
    ap.add_argument("--concurrency", type=int, default=4, help="runs in flight at once (default 4)")
    ap.add_argument("--json", metavar="OUT", help="write the raw results (runs, verdicts, summaries) here")
    ap.add_argument("--skip-build", action="store_true", help="use the existing target/release/parallax")
    ap.add_argument("--binary", default=DEFAULT_BINARY, help="parallax binary (default target/release/parallax)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory (index, database, serve.log)")
    ap.add_argument("--only", help="comma-separated question ids to ask, within --part (default: all of the part)")
    ap.add_argument("--questions", default=QUESTIONS, help="questions file (default bench/eval/questions.json)")
    ap.add_argument("--eval-web", default=EVAL_WEB,
                    help="the evaluation web served after the fixture web (default bench/eval/web)")
    ap.add_argument("--llm-base-url", help="OpenAI-compatible API for `parallax serve --llm-base-url` "
                                           "(default: no LLM, extractive answers)")
    ap.add_argument("--llm-model", help="model name for `parallax serve --llm-model`")
    ap.add_argument("--llm-api-key", help="API key of the LLM API (default: PARALLAX_LLM_API_KEY of this "
                                          "script's environment); given to the server in its environment")
    ap.add_argument("--run-timeout", type=float, default=None,
                    help="seconds to wait for one run before counting it failed (default 60, or 600 with an "
                         "LLM; an extractive run takes milliseconds, so a run this slow is stuck)")
    ap.add_argument("--max-wrong", type=int, default=1000, help="wrong answers listed per processor")
    args = ap.parse_args()

    processors = [p.strip() for p in args.processors.split(",") if p.strip()]
    if bool(args.llm_base_url) != bool(args.llm_model):
        raise SetupError("give both --llm-base-url and --llm-model to use an LLM")
    llm = bool(args.llm_base_url)
    run_timeout = args.run_timeout if args.run_timeout is not None else (600.0 if llm else 60.0)
    eval_web = os.path.abspath(args.eval_web)
    roots = web_roots(eval_web)
    with open(args.questions, encoding="utf-8") as f:
        all_questions = json.load(f)
    placed, held_out_worlds, worlds = split_questions(all_questions, eval_web)
    wanted_parts = PARTS if args.part == "all" else (args.part,)
    questions = [q for q in all_questions if placed[q["id"]][0] in wanted_parts]
    if args.only:
        wanted = set(args.only.split(","))
        questions = [q for q in questions if q["id"] in wanted]
    if not questions:
        raise SetupError("no question to ask (part %s%s)" % (args.part, ", --only %s" % args.only if args.only else ""))

    if not args.skip_build:
        build()
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        raise SetupError("no parallax binary at %s (build it, or drop --skip-build)" % args.binary)

    built = datetime.datetime.fromtimestamp(os.path.getmtime(args.binary)).astimezone()
    asked = {}
    for part in wanted_parts:
        qs = [q for q in questions if placed[q["id"]][0] == part]
        if qs:
            asked[part] = {"questions": len(qs), "fields": sum(len(q["output_schema"]["properties"]) for q in qs)}
    meta = {"machine": machine(), "commit": commit(), "binary": shown(args.binary),
            "binary_built": built.isoformat(timespec="seconds"),
            "questions_file": shown(args.questions),
            "questions": len(questions), "concurrency": args.concurrency, "processors": processors,
            "part": args.part, "asked": asked, "held_out_details_shown": args.show_held_out_details,
            "llm": llm, "llm_base_url": args.llm_base_url, "llm_model": args.llm_model,
            "llm_text": ("LLM: %s at %s" % (args.llm_model, args.llm_base_url)) if llm
            else "no LLM (extractive answers)",
            "split": {"salt": SPLIT_SALT, "eval_web": shown(eval_web), "worlds": worlds,
                      "held_out_worlds": sorted(held_out_worlds),
                      "questions": {q["id"]: list(placed[q["id"]]) for q in questions}},
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    texts = PageTexts(roots)
    meta["notes"] = list(texts.notes)
    if eval_web not in roots:
        meta["notes"].append("no evaluation web at %s: the fixture web alone is served" % meta["split"]["eval_web"])
    if any(part not in asked for part in wanted_parts):
        meta["notes"].append("part %s has no question" % ", ".join(p for p in wanted_parts if p not in asked))

    extra_args, extra_env = [], {}
    if llm:
        extra_args = ["--llm-base-url", args.llm_base_url, "--llm-model", args.llm_model]
        key = args.llm_api_key or os.environ.get("PARALLAX_LLM_API_KEY")
        if key:
            extra_env["PARALLAX_LLM_API_KEY"] = key  # serve's --llm-api-key, kept out of `ps`

    fixture, port, _ = start_fixture_server(roots)
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
        server = ParallaxServer(args.binary, data_dir, key, extra_args=extra_args, extra_env=extra_env)
        log("parallax serving on %s%s" % (server.base, " with LLM %s" % args.llm_model if llm else ""))
        api = Api(server.host, server.port, key)

        runs = {part: {} for part in asked}
        fields = {part: {} for part in asked}
        by_part = {part: [] for part in asked}
        for processor in processors:
            log("asking %d questions with %s (concurrency %d)" % (len(questions), processor, args.concurrency))
            t0 = time.monotonic()
            pool = concurrent.futures.ThreadPoolExecutor(args.concurrency)
            try:
                futs = [pool.submit(ask, api, processor, q, run_timeout) for q in questions]
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
            for part in asked:
                part_recs, part_fields = [], []
                for q, rec in zip(questions, recs):
                    qpart, world = placed[q["id"]]
                    if qpart != part:
                        continue
                    rec["part"], rec["world"] = qpart, world
                    rec["fields"] = score_run(q, rec, texts, port, qpart, world)
                    part_recs.append(rec)
                    part_fields.extend(rec["fields"])
                runs[part][processor] = part_recs
                fields[part][processor] = part_fields
                by_part[part].append(summarise(processor, part, part_recs, part_fields))

        panics = server.panics()
        if panics:
            meta["notes"].append("the server logged %d panic(s) (see serve.log; --keep keeps it), first: %s"
                                 % (panics, server.first_panic()))
        checks = print_report(meta, by_part, runs, fields, args.show_held_out_details, args.max_wrong)
        if "held-out" in asked:
            append_held_out_log(meta, by_part["held-out"], checks.get("held-out"), args.show_held_out_details)
        if args.json:
            hide = not args.show_held_out_details
            out = {
                "meta": meta,
                "targets": {"field_accuracy": TARGET_FIELD_ACCURACY, "citation_accuracy": TARGET_CITATIONS,
                            "invented": TARGET_INVENTED, "high_confidence_right": TARGET_HIGH_CONFIDENCE,
                            "lite_pipeline_ms_median_below": TARGET_LITE_PIPELINE_MS,
                            "checks": checks,
                            "met": {part: all(c["pass"] for c in cs) for part, cs in checks.items()}},
                "summaries": {part: [totals_only(s) if part == "held-out" and hide else s for s in ss]
                              for part, ss in by_part.items()},
                "runs": {part: rs for part, rs in runs.items() if not (part == "held-out" and hide)},
            }
            if hide and "held-out" in asked:
                out["meta"] = dict(meta, split=dict(meta["split"], questions={
                    qid: pw for qid, pw in meta["split"]["questions"].items() if pw[0] != "held-out"}))
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(out, f, indent=1, ensure_ascii=False)
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
