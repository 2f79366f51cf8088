"""Conformance tests of the Extract and Search APIs (`POST /v1/extract`, `/v1beta/extract`,
`/v1/search`, `/v1beta/search`): real `parallax serve` processes reading a loopback origin
served by this module (the fixture web `tests/fixtures/web/`, its `extract.example/` pages,
which are not in the sitemap, and dynamic routes under `/dyn/`), through the official SDK
with strict response validation and through raw httpx for the beta spellings and the wire
shape.

- Extract: excerpts that state the facts an objective asks for (and not boilerplate or
  comments that mention the same words), leading passages without an objective, excerpt
  budgets (per result, total, the 1000-character floor), clean markdown full content
  (headings, list, table, code block kept; cookie banner, navigation, ads, comments, sidebar
  and footer dropped) and its per-result cut, title and publish date, request order and
  duplicate URLs, one error entry per unreadable URL (404, closed port, redirect loop,
  image, invalid URL, other scheme, timeout), usage, ids and session ids, the beta spelling
  on both paths.
- Fetch policy: the cache (origin request counts), `max_age_seconds` against the server's
  `--cache-max-age-seconds`, `disable_cache_fallback`, `timeout_seconds`.
- SSRF: a server without `--allow-private-fetch` answers `ssrf_refused` and sends the origin
  nothing.
- Search: the local index (filled from the fixture sitemap) by query, `max_results`, source
  policy, excerpt budgets, modes, usage, and a page first read by Extract (found by the tenant
  that read it, live or from the shared fetch cache; never by another tenant).
- Auth (401), validation (422 with `detail.pointer`/`reason`/`errors`, wrong content type too): on the shared
  servers of both backends; everything else on SQLite only (the store plays no part).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import unquote, urlsplit

import httpx
import parallel
import pytest
from parallel.types import ExtractResponse, SearchResult

from support import assert_error, compact, wait_until
from test_research import FIXTURE_PAGES, WEB_ROOT, index_add, page_text, squeeze

EXTRACT_PAGES = sorted(str(p.relative_to(WEB_ROOT)) for p in (WEB_ROOT / "extract.example").rglob("*.html"))
LOOM = "extract.example/guides/varnholt-loom.html"
TENSION = "extract.example/guides/tension-troubleshooting.html"
MINUTES = "extract.example/notes/guild-minutes.html"
LEDGER = "extract.example/notes/ossorine-ledger.html"  # read only by test_search_finds_a_page_first_read_by_extract
PRENN = "quellmoor-gazette.example/news/2022-11-07-prenn-elected.html"

EXTRACT_ID = re.compile(r"^extract_[0-9a-f]{32}$")
SEARCH_ID = re.compile(r"^search_[0-9a-f]{32}$")
SESSION_ID = re.compile(r"^session_[0-9a-f]{32}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ERROR_TYPES = {
    "invalid_url", "unsupported_scheme", "ssrf_refused", "dns", "connect", "timeout",
    "too_many_redirects", "http_error", "too_large", "network", "unsupported_content",
    "extraction_failed",  # not in the list; documented in README.md (9c1c2e9) for unparsable documents
}
BETA = {"parallel-beta": "search-extract-2025-10-10"}

# Text of varnholt-loom.html outside its article: none of it may reach excerpts or full content.
LOOM_BOILERPLATE = [
    "212 partners",  # cookie banner
    "Accept all cookies",
    "Manage cookie settings",
    "Yarn Reviews",  # navigation
    "Subscribe to Loomwright Weekly",
    "Practical weaving since 1998",
    "Thimblecrest",  # ads
    "WARPSPEED",
    "Spindlebury",
    "Treadle_Tom",  # comments
    "olive oil",
    "invented in 1875",
    "Kemberly_Kate",
    "Post comment",
    "moderators",
    "Related guides",  # sidebar
    "9,300 weavers",
    "Share this guide",
    "08812345",  # footer
    "Reader line",
    "Privacy policy",
]
# The article's own facts, one per section.
LOOM_FACTS = ["compact wooden frame", "Agathe Sorrel", "48 square tablets of birch plywood", "Linen 16/2", "Sorrel notation", "camellia oil"]
LOOM_CODE = "row 1: S S Z Z  turn forward 4\nrow 2: S Z S Z  turn back 2\nrow 3: Z Z S S  turn forward 4"


# --------------------------------------------------------------------------------------
# the loopback origin
# --------------------------------------------------------------------------------------


def _png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _page(title: str, *paragraphs: str) -> bytes:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
        f"<body><main><h1>{title}</h1>\n{body}</main></body></html>"
    ).encode()


BROKEN_PDF = b"%PDF-1.4\n% this is not really a PDF: no objects, no xref, no trailer\n"
HUGE_PAGE = b"<!DOCTYPE html><html><body><main>" + b"<p>" + b"padding words " * 900_000 + b"</p></main></body></html>"  # > 10 MiB
CROPS = ["barley", "rye", "flax", "hemp", "madder", "woad", "oats", "turnips"]
LONG_PARAGRAPHS = [
    f"Entry {i + 1} of the Kemberly chronicle. In the year {1700 + 3 * i} the guild recorded a harvest of "
    f"{CROPS[i % len(CROPS)]} worth {120 + 7 * i} crowns, and the wardens met {i % 5 + 2} times to settle the "
    f"accounts of the dye houses, the fulling mill and the weekly market held beside the old stone bridge."
    for i in range(45)
]
LONG_PARAGRAPHS[36] = (
    "Entry 37 of the Kemberly chronicle. That spring a travelling clockmaker named Osric Pendlebury repaired "
    "the guild hall's astronomical clock, which had stood still for nineteen years, and was paid in woad cakes."
)
LONG_PAGE = _page("The Kemberly chronicle", *LONG_PARAGRAPHS)
GONE_BODY = b"Nothing here: this guide was withdrawn in 2019 and will not come back."
DOWN_BODY = b"Service temporarily down for maintenance. Please try again in an hour."


class Origin:
    """The fixture web (`tests/fixtures/web/`, `extract.example/` included) plus dynamic
    routes, on one loopback root. Every request is recorded as (method, target, status),
    target being the path with its query.

    /dyn/counter.html?k=K  a page stating "Visit number N", N counting requests for that target
    /dyn/flaky.html?k=K    a page stating "Revision N", or 503 while K is in `failing`
    /dyn/slow.html?k=K     a page answered after SLOW seconds
    /dyn/pixel.png         an image
    /dyn/broken.pdf        a "PDF" that is not one
    /dyn/huge.html         an HTML page over 10 MiB
    /dyn/long.html         a page of about 12,000 characters (LONG_PARAGRAPHS)
    /dyn/moved.html        301 to varnholt-loom.html
    /dyn/gone.html         404 with GONE_BODY
    /dyn/loop.html?n=N     302 to ?n=N+1, forever
    """

    SLOW = 5.0

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list = []
        self.counts: dict = {}
        self.failing: set = set()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.do_GET(head=True)

            def do_GET(self, head: bool = False):
                parts = urlsplit(self.path)
                target = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
                status, headers, body, delay = origin.answer(unquote(parts.path), parts.query, target)
                with origin.lock:
                    origin.requests.append((self.command, target, status))
                try:
                    if delay:
                        time.sleep(delay)
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeouts)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.host}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _count(self, target: str) -> int:
        with self.lock:
            self.counts[target] = self.counts.get(target, 0) + 1
            return self.counts[target]

    def answer(self, path: str, query: str, target: str):
        html = {"content-type": "text/html; charset=utf-8"}
        text = {"content-type": "text/plain; charset=utf-8"}
        key = query.partition("k=")[2]
        if path == "/dyn/counter.html":
            n = self._count(target)
            return 200, html, _page(
                "Visit counter",
                f"Visit number {n} of the counter page. The counter page tells how many times it was requested.",
                "Each request to the origin increments the number above by one, so a page served from a cache keeps its old number.",
            ), 0
        if path == "/dyn/flaky.html":
            if key in self.failing:
                return 503, text, DOWN_BODY, 0
            n = self._count(target)
            return 200, html, _page(
                "Flaky page",
                f"Revision {n} of the flaky page. The flaky page is healthy at the moment.",
                "When the origin is down for maintenance it answers 503 instead of this text.",
            ), 0
        if path == "/dyn/slow.html":
            return 200, html, _page("Slow page", "The slow page takes a long time to answer every request."), self.SLOW
        if path == "/dyn/pixel.png":
            return 200, {"content-type": "image/png"}, _png(), 0
        if path == "/dyn/broken.pdf":
            return 200, {"content-type": "application/pdf"}, BROKEN_PDF, 0
        if path == "/dyn/huge.html":
            return 200, html, HUGE_PAGE, 0
        if path == "/dyn/long.html":
            return 200, html, LONG_PAGE, 0
        if path == "/dyn/moved.html":
            return 301, {"location": "/" + LOOM, **text}, b"moved", 0
        if path == "/dyn/gone.html":
            return 404, text, GONE_BODY, 0
        if path == "/dyn/loop.html":
            n = int(query.partition("n=")[2] or "0")
            return 302, {"location": f"/dyn/loop.html?n={n + 1}", **text}, b"moved", 0
        rel = path.lstrip("/")
        if rel == "sitemap.xml":
            body = (WEB_ROOT / "sitemap.xml").read_text("utf-8").replace("FIXTURE_HOST", self.host)
            return 200, {"content-type": "application/xml"}, body.encode(), 0
        if rel in FIXTURE_PAGES or rel in EXTRACT_PAGES:
            ctype = "application/pdf" if rel.endswith(".pdf") else "text/html; charset=utf-8"
            return 200, {"content-type": ctype}, (WEB_ROOT / rel).read_bytes(), 0
        return 404, text, b"not found", 0

    def url(self, rel: str) -> str:
        return self.base + rel.lstrip("/")

    def rel(self, url: str) -> Optional[str]:
        return url[len(self.base):] if url.startswith(self.base) else None

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list:
        with self.lock:
            return list(self.requests[mark:])

    def hits(self, url_or_target: str, mark: int = 0) -> int:
        """Requests for one target (a URL of this origin or its path) since `mark`."""
        target = "/" + (self.rel(url_or_target) or url_or_target.lstrip("/"))
        return sum(1 for _, t, _ in self.since(mark) if t == target)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/nothing-listens-here.html"


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def origin():
    o = Origin()
    yield o
    o.close()


@pytest.fixture(scope="module")
def srv(server_factory, parallax_bin, origin):
    """SQLite, --allow-private-fetch, default cache age (3600 s), the fixture sitemap indexed."""
    s = server_factory("sqlite", start=False, extra_args=["--allow-private-fetch"])
    proc = index_add(parallax_bin, s.data_dir, origin.url("sitemap.xml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f"indexed {len(FIXTURE_PAGES)} page(s)" in proc.stdout, proc.stdout
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def srv0(server_factory):
    """SQLite, --allow-private-fetch, --cache-max-age-seconds 0: every default fetch is live."""
    s = server_factory("sqlite", extra_args=["--allow-private-fetch", "--cache-max-age-seconds", "0"])
    yield s
    s.stop()


@pytest.fixture
def client(srv, request):
    yield srv.client()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(srv.log_tail())
    assert srv.alive(), f"parallax died: {srv.log_tail()}"


# --------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------


def md_plain(md: str) -> str:
    """Markdown reduced to its text: no heading, list, table, code or emphasis syntax."""
    t = re.sub(r"^\s*```[^\n]*$", " ", md, flags=re.M)
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", t)
    t = re.sub(r"^\s{0,3}#{1,6}\s+", "", t, flags=re.M)
    t = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", t, flags=re.M)
    t = re.sub(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", " ", t, flags=re.M)
    t = t.replace("|", " ")
    t = re.sub(r"\*\*|__|\*|`", "", t)
    return t.replace("\\", "")


WORD = re.compile(r"[A-Za-z0-9]+")
_WORDS: dict = {}


def page_words(rel: str) -> set:
    if rel not in _WORDS:
        _WORDS[rel] = {w.lower() for w in WORD.findall(page_text(rel))}
    return _WORDS[rel]


FOOTNOTE = re.compile(r"\[\d+\]")


def check_excerpt(excerpt: str, rel: str) -> None:
    """The excerpt is text of the page (line by line: an excerpt spanning several blocks may
    leave out boilerplate between them, and footnote markers), made of whole words (not cut
    mid-word)."""
    assert isinstance(excerpt, str) and excerpt.strip(), f"empty excerpt from {rel}"
    plain = md_plain(excerpt)
    page = squeeze(FOOTNOTE.sub("", page_text(rel)))
    for line in plain.splitlines():
        line = squeeze(FOOTNOTE.sub("", line))
        assert line in page, f"{rel} does not contain {line!r} of the excerpt {excerpt!r}"
    words = WORD.findall(plain)
    assert words, excerpt
    for w in (words[0], words[-1]):
        assert w.lower() in page_words(rel), f"excerpt of {rel} cut mid-word ({w!r}): {excerpt!r}"


def chars(excerpts) -> int:
    return sum(len(e) for e in excerpts)


def usage_of(resp) -> dict:
    items = resp.usage if not isinstance(resp, dict) else resp.get("usage")
    out = {}
    for u in items or []:
        name, count = (u["name"], u["count"]) if isinstance(u, dict) else (u.name, u.count)
        assert name not in out, f"usage lists {name} twice: {items}"
        assert isinstance(count, int) and count > 0, f"usage item with count {count}: {items}"
        out[name] = count
    return out


def check_warnings(warnings) -> None:
    assert warnings is None or isinstance(warnings, list), warnings
    for w in warnings or []:
        assert w["type"] == "warning" and isinstance(w["message"], str) and w["message"], w


def check_extract_body(body: dict, session_id: Optional[str] = None) -> dict:
    """Wire shape of an extract response (raw JSON). Returns it."""
    ExtractResponse.model_validate(body)
    for key in ("extract_id", "session_id", "results", "errors"):
        assert key in body, f"no {key} in {sorted(body)}"
    assert EXTRACT_ID.match(body["extract_id"]), body["extract_id"]
    if session_id is None:
        assert SESSION_ID.match(body["session_id"]), body["session_id"]
    else:
        assert body["session_id"] == session_id, body["session_id"]
    for r in body["results"]:
        assert set(r) >= {"url", "title", "publish_date", "excerpts", "full_content"}, sorted(r)
        assert r["publish_date"] is None or DATE.match(r["publish_date"]), r["publish_date"]
        assert isinstance(r["excerpts"], list) and all(isinstance(e, str) for e in r["excerpts"]), r
    for e in body["errors"]:
        assert set(e) == {"url", "error_type", "http_status_code", "content"}, e
        assert e["error_type"] in ERROR_TYPES, e
    check_warnings(body.get("warnings"))
    usage = usage_of(body)
    assert set(usage) <= {"sku_extract_excerpts", "sku_extract_full_content"}, usage
    assert usage.get("sku_extract_excerpts", 0) == sum(1 for r in body["results"] if r["excerpts"]), (usage, body["results"])
    assert usage.get("sku_extract_full_content", 0) == sum(1 for r in body["results"] if r["full_content"] is not None), usage
    return body


def check_search_body(body: dict, session_id: Optional[str] = None) -> dict:
    SearchResult.model_validate(body)
    for key in ("search_id", "session_id", "results", "usage"):
        assert key in body, f"no {key} in {sorted(body)}"
    assert SEARCH_ID.match(body["search_id"]), body["search_id"]
    if session_id is None:
        assert SESSION_ID.match(body["session_id"]), body["session_id"]
    else:
        assert body["session_id"] == session_id, body["session_id"]
    for r in body["results"]:
        assert set(r) >= {"url", "title", "publish_date", "excerpts"}, sorted(r)
        assert r["publish_date"] is None or DATE.match(r["publish_date"]), r["publish_date"]
    check_warnings(body.get("warnings"))
    check_search_usage(body, len(body["results"]))
    return body


def check_search_usage(resp, n_results: int) -> None:
    want = {"sku_search": 1}
    if n_results > 10:
        want["sku_search_additional_results"] = n_results - 10
    assert usage_of(resp) == want, (usage_of(resp), n_results)


def post(srv, path: str, body, headers: Optional[dict] = None, key: Optional[str] = None) -> httpx.Response:
    http = srv.http(key)
    content = body if isinstance(body, bytes) else compact(body)
    return http.post(path, content=content, headers={"content-type": "application/json", **(headers or {})})


def ok_json(resp: httpx.Response) -> dict:
    assert resp.status_code == 200, f"{resp.status_code}: {resp.text[:800]}"
    assert resp.headers.get("content-type", "").split(";")[0].strip() == "application/json", resp.headers
    return resp.json()


def check_422(resp, pointer: str) -> dict:
    detail = assert_error(resp, 422)
    assert isinstance(detail, dict), error_text(resp)
    assert isinstance(detail.get("pointer"), str), detail
    assert detail["pointer"] == pointer or detail["pointer"].startswith(pointer + "/"), (pointer, detail)
    assert isinstance(detail.get("reason"), str) and detail["reason"].strip(), detail
    errors = detail.get("errors")
    assert isinstance(errors, list) and errors, detail
    assert all(isinstance(e, dict) and isinstance(e.get("pointer"), str) and isinstance(e.get("reason"), str) for e in errors), detail
    assert errors[0]["pointer"] == detail["pointer"], detail
    return detail


def error_text(resp) -> str:
    r = resp if isinstance(resp, httpx.Response) else resp.response
    return r.text[:800]


def result_by_url(resp) -> dict:
    return {r.url: r for r in resp.results}


def errors_by_url(resp) -> dict:
    out = {}
    for e in resp.errors:
        assert e.url not in out, f"two errors for {e.url}"
        out[e.url] = e
    return out


# --------------------------------------------------------------------------------------
# extract: excerpts
# --------------------------------------------------------------------------------------


def test_excerpts_state_what_the_objective_asks(origin, client):
    url = origin.url(LOOM)
    res = client.extract(
        urls=[url],
        objective="How often should the tension ratchet be oiled, and with which oil?",
        advanced_settings={"excerpt_settings": {"max_chars_per_result": 1000}},
    )
    assert not res.errors, res.errors
    (r,) = res.results
    assert r.url == url
    joined = "\n".join(r.excerpts)
    # The care section, at the end of the page: not the page's first passages.
    assert "camellia oil" in joined and "forty hours" in joined, r.excerpts
    # A reader's comment uses the same words ("olive oil on the ratchet"): comments are not the page.
    assert "olive oil" not in joined and "Treadle_Tom" not in joined, r.excerpts
    assert chars(r.excerpts) <= 1000, chars(r.excerpts)
    for e in r.excerpts:
        check_excerpt(e, LOOM)
    for b in LOOM_BOILERPLATE:
        assert b not in joined, (b, r.excerpts)


def test_excerpts_for_search_queries_and_objective(origin, client):
    url = origin.url(LOOM)
    res = client.extract(urls=[url], objective="Who patented the Varnholt loom, and in which year?", advanced_settings={"excerpt_settings": {"max_chars_per_result": 1000}})
    joined = "\n".join(res.results[0].excerpts)
    assert "Agathe Sorrel" in joined and "1887" in joined, joined
    assert "1875" not in joined, joined  # the comment that contradicts it
    res = client.extract(urls=[url], search_queries=["linen yarn weight per 100 m"], advanced_settings={"excerpt_settings": {"max_chars_per_result": 1000}})
    joined = "\n".join(res.results[0].excerpts)
    # Markdown: the table's row as a table row.
    assert re.search(r"^\|\s*Linen 16/2\s*\|\s*6\.3\s*\|\s*48\s*\|\s*$", joined, re.M), joined
    for e in res.results[0].excerpts:
        check_excerpt(e, LOOM)


def test_excerpts_without_objective_are_the_leading_passages(origin, client):
    res = client.extract(urls=[origin.url(LOOM)], advanced_settings={"excerpt_settings": {"max_chars_per_result": 1000}})
    (r,) = res.results
    assert r.excerpts, r
    assert "compact wooden frame" in r.excerpts[0], r.excerpts
    joined = "\n".join(r.excerpts)
    assert "camellia oil" not in joined, "the last section is not among the leading 1000 characters"
    assert chars(r.excerpts) <= 1000
    for e in r.excerpts:
        check_excerpt(e, LOOM)
    for b in LOOM_BOILERPLATE:
        assert b not in joined, (b, r.excerpts)


def test_excerpt_budgets(origin, client):
    urls = [origin.url(LOOM), origin.url(TENSION), origin.url(MINUTES)]
    q = "Varnholt loom tension tablets"
    # Default: at most 5000 characters per result.
    res = client.extract(urls=urls, objective=q)
    assert [r.url for r in res.results] == urls
    for r, rel in zip(res.results, (LOOM, TENSION, MINUTES)):
        assert r.excerpts and chars(r.excerpts) <= 5000, (rel, chars(r.excerpts))
        for e in r.excerpts:
            check_excerpt(e, rel)
    assert usage_of(res) == {"sku_extract_excerpts": 3}, res.usage
    # Per result.
    res = client.extract(urls=urls, objective=q, advanced_settings={"excerpt_settings": {"max_chars_per_result": 1200}})
    assert all(0 < chars(r.excerpts) <= 1200 for r in res.results), [chars(r.excerpts) for r in res.results]
    # Below 1000 is raised to 1000: not 10 characters (nothing), not more than 1000.
    res = client.extract(urls=[origin.url(LOOM)], objective=q, advanced_settings={"excerpt_settings": {"max_chars_per_result": 10}})
    assert 100 < chars(res.results[0].excerpts) <= 1000, res.results[0].excerpts
    # Total across results, top-level.
    res = client.extract(urls=urls, objective=q, max_chars_total=1500)
    total = sum(chars(r.excerpts) for r in res.results)
    assert 0 < total <= 1500, total
    for r, rel in zip(res.results, (LOOM, TENSION, MINUTES)):
        for e in r.excerpts:
            check_excerpt(e, rel)
    # Total below the floor is raised to 1000.
    res = client.extract(urls=urls, objective=q, max_chars_total=1)
    total = sum(chars(r.excerpts) for r in res.results)
    assert 100 < total <= 1000, total


def test_zero_budgets_are_raised_to_the_floor(srv, origin):
    """The spec's ExcerptSettings: "Values below 1000 will be automatically set to 1000". 0 too."""
    urls = [origin.url(LOOM), origin.url(TENSION)]
    for settings in ({"max_chars_per_result": 0}, {"max_chars_total": 0}):
        body = ok_json(post(srv, "/v1/extract", {"urls": urls, "objective": "tension", "advanced_settings": {"excerpt_settings": settings}}))
        check_extract_body(body)
        total = sum(chars(r["excerpts"]) for r in body["results"])
        assert 0 < total <= 2000, (settings, total)
    body = ok_json(post(srv, "/v1/extract", {"urls": urls, "objective": "tension", "max_chars_total": 0}))
    assert 0 < sum(chars(r["excerpts"]) for r in check_extract_body(body)["results"]) <= 1000


def test_budgets_on_a_long_page(origin, client):
    url = origin.url("dyn/long.html")
    # No objective: the leading passages, up to the default 5000 characters.
    r = client.extract(urls=[url]).results[0]
    assert 3000 < chars(r.excerpts) <= 5000, chars(r.excerpts)
    assert r.excerpts[0].startswith("Entry 1 of the Kemberly chronicle"), r.excerpts[0]
    joined = "\n".join(r.excerpts)
    assert "Entry 40 " not in joined, "not the leading passages"
    for e in r.excerpts:
        assert any(p in e for p in LONG_PARAGRAPHS), f"not whole passages: {e!r}"
    # An explicit per-result budget.
    r = client.extract(urls=[url], advanced_settings={"excerpt_settings": {"max_chars_per_result": 2000}}).results[0]
    assert 1000 < chars(r.excerpts) <= 2000, chars(r.excerpts)
    # An objective picks the one passage that answers it, deep in the page.
    r = client.extract(urls=[url], objective="Who repaired the astronomical clock of the guild hall?", advanced_settings={"excerpt_settings": {"max_chars_per_result": 1000}}).results[0]
    assert "Osric Pendlebury" in "\n".join(r.excerpts), r.excerpts
    assert "Entry 20 " not in "\n".join(r.excerpts), r.excerpts
    # The whole page as full content; cut at a word boundary below it.
    full = client.extract(urls=[url], advanced_settings={"full_content": True}).results[0].full_content
    assert all(p in full for p in LONG_PARAGRAPHS), "full content is not the whole page"
    cut = client.extract(urls=[url], advanced_settings={"full_content": {"max_chars_per_result": 7001}}).results[0].full_content
    assert 6000 < len(cut) <= 7001 and full.startswith(cut.rstrip()), len(cut)


def test_redirect_is_followed_and_the_url_kept(origin, client):
    moved = origin.url("dyn/moved.html")
    res = client.extract(urls=[moved])
    assert not res.errors, res.errors
    (r,) = res.results
    assert r.url == moved, r.url
    assert r.title == "How to warp a Varnholt tablet loom" and r.publish_date == "2023-05-17", r


def test_excerpt_settings_max_chars_total(srv, origin):
    urls = [origin.url(LOOM), origin.url(TENSION), origin.url(MINUTES)]
    body = ok_json(post(srv, "/v1/extract", {
        "urls": urls,
        "objective": "Varnholt loom tension tablets",
        "advanced_settings": {"excerpt_settings": {"max_chars_per_result": 5000, "max_chars_total": 1300}},
    }))
    check_extract_body(body)
    total = sum(chars(r["excerpts"]) for r in body["results"])
    assert 0 < total <= 1300, total


def test_no_excerpt_repeated_across_results(origin, client):
    """The care section of varnholt-loom.html is repeated word for word in
    tension-troubleshooting.html: it is an excerpt of one result only."""
    urls = [origin.url(LOOM), origin.url(TENSION)]
    res = client.extract(urls=urls, objective="How often should the tension ratchet be oiled with camellia oil?")
    assert [r.url for r in res.results] == urls, res
    seen = {}
    for r in res.results:
        for e in r.excerpts:
            assert e not in seen, f"excerpt repeated in {seen.get(e)} and {r.url}: {e!r}"
            seen[e] = r.url
    with_fact = [r.url for r in res.results if any("forty hours" in e for e in r.excerpts)]
    assert len(with_fact) == 1, (with_fact, [r.excerpts for r in res.results])


# --------------------------------------------------------------------------------------
# extract: full content, title, publish date
# --------------------------------------------------------------------------------------


def test_full_content_is_clean_markdown(origin, client):
    res = client.extract(urls=[origin.url(LOOM)], advanced_settings={"full_content": True})
    (r,) = res.results
    md = r.full_content
    assert isinstance(md, str) and md.strip(), r
    for fact in LOOM_FACTS:
        assert fact in md, (fact, md)
    for b in LOOM_BOILERPLATE:
        assert b not in md, f"boilerplate {b!r} in the full content:\n{md}"
    # No markup, no character references.
    assert not re.search(r"</?(?:div|span|p|a|ul|li|table|tr|td|th|script|style|nav|footer|button)\b", md, re.I), md
    assert not re.search(r"&(?:[a-z]+|#\d+);", md), md
    # Headings.
    for h in ("A short history of the frame", "What you need", "Choosing yarn", "Reading the threading code", "Caring for the frame"):
        assert re.search(rf"^#{{1,6}} {re.escape(h)}\s*$", md, re.M), (h, md)
    # The list.
    for item in ("48 square tablets of birch plywood, each with four holes", "a warp of 192 threads, cut to 3.2 metres"):
        assert re.search(rf"^\s*[-*+] {re.escape(item)}\s*$", md, re.M), (item, md)
    # The table: header, delimiter row, body rows.
    assert re.search(r"^\|\s*Yarn\s*\|\s*Weight \(g per 100 m\)\s*\|\s*Tablets\s*\|\s*$", md, re.M), md
    assert re.search(r"^\|(\s*:?-{3,}:?\s*\|){3}\s*$", md, re.M), md
    for row in (("Linen 16/2", "6.3", "48"), ("Wool 2-ply", "9.8", "36"), ("Silk 60/2", "1.7", "64")):
        assert re.search(r"^\|" + r"\|".join(rf"\s*{re.escape(c)}\s*" for c in row) + r"\|\s*$", md, re.M), (row, md)
    # The code block, whitespace kept.
    m = re.search(r"^(`{3,}|~{3,})[^\n]*\n(.*?)\n\1\s*$", md, re.M | re.S)
    assert m and m.group(2) == LOOM_CODE, md
    # Main content in page order.
    positions = [md.index(f) for f in LOOM_FACTS]
    assert positions == sorted(positions), positions
    assert usage_of(res) == {"sku_extract_excerpts": 1, "sku_extract_full_content": 1}, res.usage


def test_full_content_max_chars_per_result_is_a_word_boundary_prefix(origin, client):
    url = origin.url(LOOM)
    full = client.extract(urls=[url], advanced_settings={"full_content": True}).results[0].full_content
    assert len(full) > 1500, len(full)
    for limit in (300, 1000):
        cut = client.extract(urls=[url], advanced_settings={"full_content": {"max_chars_per_result": limit}}).results[0].full_content
        assert isinstance(cut, str) and cut.strip(), cut
        assert len(cut) <= limit, (limit, len(cut))
        assert len(cut) >= limit // 2, f"cut far below the limit {limit}: {len(cut)}"
        assert full.startswith(cut.rstrip()), (cut, full[:limit + 50])
        end = len(cut.rstrip())
        assert not (full[end - 1].isalnum() and full[end].isalnum()), f"cut mid-word at {end}: {full[end - 20:end + 20]!r}"


def test_without_full_content_it_is_null(srv, origin):
    body = check_extract_body(ok_json(post(srv, "/v1/extract", {"urls": [origin.url(MINUTES)]})))
    (r,) = body["results"]
    assert r["full_content"] is None, r
    assert usage_of(body) == {"sku_extract_excerpts": 1}, body["usage"]


# (page, title: exact or contained, publish date)
DATED = [
    (LOOM, "How to warp a Varnholt tablet loom", True, "2023-05-17"),  # JSON-LD datePublished
    (TENSION, "Fixing uneven warp tension", False, "2022-08-30"),  # article:published_time
    (MINUTES, "Winter meeting minutes", True, "2021-02-14"),  # <time datetime> only
    ("quellmoor-gazette.example/news/2018-09-03-census.html", "Census: Quellmoor grows to 45,900 residents", False, "2018-09-03"),
    ("zorblax.example/newsroom/series-c.html", "Zorblax Robotics raises $410 million in Series C funding", False, "2024-03-19"),
    ("quellmoor.example/lantern-tide.html", "Lantern Tide Festival 2024", False, "2024-03-01"),  # not the Event's startDate
    ("wiki.example/Quellmoor.html", "Quellmoor", False, None),  # "last edited" footer is no publish date
]


def test_title_and_publish_date(origin, client):
    urls = [origin.url(rel) for rel, *_ in DATED]
    res = client.extract(urls=urls, objective="date")
    assert not res.errors, res.errors
    assert [r.url for r in res.results] == urls
    wrong = []
    for r, (rel, title, exact, date) in zip(res.results, DATED):
        if (r.title != title) if exact else (not r.title or title not in r.title):
            wrong.append((rel, "title", title, r.title))
        if r.publish_date != date:
            wrong.append((rel, "publish_date", date, r.publish_date))
    assert not wrong, wrong


def test_pdf_is_read(origin, client):
    rel = "docs.example/annual-report-2023.pdf"
    res = client.extract(urls=[origin.url(rel)], objective="employees", advanced_settings={"full_content": True})
    assert not res.errors, res.errors
    (r,) = res.results
    assert r.excerpts and r.full_content, r
    assert r.publish_date == "2024-04-15", r.publish_date


# --------------------------------------------------------------------------------------
# extract: request shape, order, duplicates, ids, errors
# --------------------------------------------------------------------------------------


def test_results_in_request_order_duplicates_collapsed(origin, client):
    a, b, c = origin.url(MINUTES), origin.url(LOOM), origin.url(TENSION)
    gone = origin.url("dyn/gone.html")
    res = client.extract(urls=[a, b, a, gone, c, b])
    assert [r.url for r in res.results] == [a, b, c], [r.url for r in res.results]
    assert [e.url for e in res.errors] == [gone], res.errors
    assert usage_of(res) == {"sku_extract_excerpts": 3}, res.usage


def test_result_url_is_the_url_as_requested(origin, client):
    url = origin.url(LOOM) + "#caring-for-the-frame"
    res = client.extract(urls=[url])
    assert [r.url for r in res.results] == [url], res


def test_ids_and_session(srv, origin, client):
    res1 = client.extract(urls=[origin.url(MINUTES)])
    res2 = client.extract(urls=[origin.url(MINUTES)], session_id="agent-session-42", client_model="some-model-v1")
    assert EXTRACT_ID.match(res1.extract_id) and EXTRACT_ID.match(res2.extract_id), (res1.extract_id, res2.extract_id)
    assert res1.extract_id != res2.extract_id
    assert SESSION_ID.match(res1.session_id), res1.session_id
    assert res2.session_id == "agent-session-42"
    res3 = client.extract(urls=[origin.url(MINUTES)])
    assert res3.session_id != res1.session_id
    check_extract_body(ok_json(post(srv, "/v1/extract", {"urls": [origin.url(MINUTES)], "session_id": "s-1"})), session_id="s-1")


def test_unreadable_urls_are_error_entries(origin, client):
    good = origin.url(MINUTES)
    gone = origin.url("dyn/gone.html")
    missing = origin.url("extract.example/no-such-page.html")
    closed = closed_port_url()
    image = origin.url("dyn/pixel.png")
    loop = origin.url("dyn/loop.html")
    urls = {
        gone: "http_error",
        missing: "http_error",
        closed: "connect",
        image: "unsupported_content",
        loop: "too_many_redirects",
        "not a url": "invalid_url",
        "ftp://127.0.0.1/pub/file.txt": "unsupported_scheme",
    }
    res = client.extract(urls=[good, *urls], advanced_settings={"full_content": True})
    assert [r.url for r in res.results] == [good], res.results
    errors = errors_by_url(res)
    assert set(errors) == set(urls), sorted(errors)
    got = {u: e.error_type for u, e in errors.items()}
    assert got == urls, {u: (urls[u], got.get(u)) for u in urls if got.get(u) != urls[u]}
    assert errors[gone].http_status_code == 404 and "Nothing here" in (errors[gone].content or ""), errors[gone]
    assert errors[missing].http_status_code == 404, errors[missing]
    for u in (closed, "not a url", "ftp://127.0.0.1/pub/file.txt"):
        assert errors[u].http_status_code is None, errors[u]
    # Errors are not billed.
    assert usage_of(res) == {"sku_extract_excerpts": 1, "sku_extract_full_content": 1}, res.usage


def test_only_failures_is_still_200(srv, origin):
    body = check_extract_body(ok_json(post(srv, "/v1/extract", {"urls": [origin.url("dyn/gone.html"), closed_port_url()]})))
    assert body["results"] == [] and len(body["errors"]) == 2, body
    e = next(e for e in body["errors"] if e["url"] == origin.url("dyn/gone.html"))
    assert (e["error_type"], e["http_status_code"]) == ("http_error", 404), e
    # content: the start of the error body.
    assert isinstance(e["content"], str) and e["content"] and GONE_BODY.decode().startswith(e["content"].strip()), e


def test_unreadable_documents_are_error_entries_of_the_documented_types(srv, origin):
    """A body too large and a PDF that cannot be parsed: error entries whose error_type is one
    of the documented ones."""
    huge, broken = origin.url("dyn/huge.html"), origin.url("dyn/broken.pdf")
    body = check_extract_body(ok_json(post(srv, "/v1/extract", {"urls": [huge, broken, origin.url(MINUTES)]})))
    assert [r["url"] for r in body["results"]] == [origin.url(MINUTES)], body["results"]
    got = {e["url"]: e["error_type"] for e in body["errors"]}
    assert set(got) == {huge, broken}, got
    assert got[huge] == "too_large", got


def test_fetch_timeout_is_an_error_entry(origin, client):
    slow = origin.url("dyn/slow.html?k=timeout")
    started = time.monotonic()
    res = client.extract(urls=[slow, origin.url(MINUTES)], advanced_settings={"fetch_policy": {"timeout_seconds": 1}})
    elapsed = time.monotonic() - started
    assert [r.url for r in res.results] == [origin.url(MINUTES)], res.results
    (e,) = res.errors
    assert (e.url, e.error_type, e.http_status_code) == (slow, "timeout", None), e
    assert elapsed < Origin.SLOW - 1, f"took {elapsed:.1f}s: the 1 s timeout was not applied"


# --------------------------------------------------------------------------------------
# extract: cache and fetch policy
# --------------------------------------------------------------------------------------


def _visit(res) -> int:
    (r,) = res.results
    m = re.search(r"Visit number (\d+)", r.full_content or "")
    assert m, r
    return int(m.group(1))


def test_cached_page_is_not_fetched_again(origin, client):
    url = origin.url("dyn/counter.html?k=cache")
    mark = origin.mark()
    full = {"full_content": True}
    assert _visit(client.extract(urls=[url], advanced_settings=full)) == 1
    assert origin.hits(url, mark) == 1, origin.since(mark)
    # Default max age (the server's 3600 s): from the cache.
    assert _visit(client.extract(urls=[url], advanced_settings=full)) == 1
    # max_age_seconds 600: the page is a second old, still from the cache.
    assert _visit(client.extract(urls=[url], advanced_settings={**full, "fetch_policy": {"max_age_seconds": 600}})) == 1
    assert origin.hits(url, mark) == 1, origin.since(mark)


def test_server_max_age_and_request_max_age(origin, srv0):
    """--cache-max-age-seconds 0: every default request fetches live; a request's
    max_age_seconds of 600 takes the cached copy instead."""
    client = srv0.client()
    url = origin.url("dyn/counter.html?k=age")
    mark = origin.mark()
    full = {"full_content": True}
    assert _visit(client.extract(urls=[url], advanced_settings=full)) == 1
    assert _visit(client.extract(urls=[url], advanced_settings=full)) == 2
    assert origin.hits(url, mark) == 2
    assert _visit(client.extract(urls=[url], advanced_settings={**full, "fetch_policy": {"max_age_seconds": 600}})) == 2
    assert origin.hits(url, mark) == 2, origin.since(mark)
    assert _visit(client.extract(urls=[url], advanced_settings=full)) == 3


def test_cache_fallback_when_the_live_fetch_fails(origin, srv0):
    client = srv0.client()
    url = origin.url("dyn/flaky.html?k=fallback")
    full = {"full_content": True}
    first = client.extract(urls=[url], advanced_settings=full)
    assert not first.errors and "Revision 1" in first.results[0].full_content, first
    origin.failing.add("fallback")
    try:
        mark = origin.mark()
        # The live fetch (max age 0) fails: the older cached copy is answered.
        res = client.extract(urls=[url], advanced_settings=full)
        assert origin.hits(url, mark) >= 1, "no live fetch was tried"
        assert not res.errors, res.errors
        assert "Revision 1" in res.results[0].full_content, res.results[0]
        # disable_cache_fallback: the error instead.
        mark = origin.mark()
        res = client.extract(urls=[url], advanced_settings={**full, "fetch_policy": {"disable_cache_fallback": True}})
        assert origin.hits(url, mark) >= 1
        assert res.results == [], res.results
        (e,) = res.errors
        assert (e.url, e.error_type, e.http_status_code) == (url, "http_error", 503), e
        assert "maintenance" in (e.content or ""), e
    finally:
        origin.failing.discard("fallback")
    # Healthy again: a live fetch.
    res = client.extract(urls=[url], advanced_settings=full)
    assert "Revision 2" in res.results[0].full_content, res.results[0]


def test_no_fallback_without_a_cached_copy(origin, srv0):
    client = srv0.client()
    url = origin.url("dyn/flaky.html?k=never-cached")
    origin.failing.add("never-cached")
    try:
        res = client.extract(urls=[url])
    finally:
        origin.failing.discard("never-cached")
    assert res.results == []
    (e,) = res.errors
    assert (e.error_type, e.http_status_code) == ("http_error", 503), e


# --------------------------------------------------------------------------------------
# extract: beta spelling, both paths
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1beta/extract", "/v1/extract"])
def test_beta_spelling(srv, origin, path):
    url = origin.url(LOOM)
    body = check_extract_body(ok_json(post(srv, path, {"urls": [url], "objective": "Who patented the Varnholt loom?", "excerpts": True, "full_content": True}, headers=BETA)))
    (r,) = body["results"]
    assert r["url"] == url and r["excerpts"] and "Agathe Sorrel" in "\n".join(r["excerpts"]), r
    assert r["full_content"] and "camellia oil" in r["full_content"], r
    # excerpts false, full content cut.
    body = check_extract_body(ok_json(post(srv, path, {"urls": [url], "excerpts": False, "full_content": {"max_chars_per_result": 500}})))
    (r,) = body["results"]
    assert r["excerpts"] == [], r["excerpts"]
    assert r["full_content"] and len(r["full_content"]) <= 500, r["full_content"]
    assert usage_of(body) == {"sku_extract_full_content": 1}, body["usage"]
    # excerpts as settings.
    body = check_extract_body(ok_json(post(srv, path, {"urls": [url], "objective": "Varnholt loom", "excerpts": {"max_chars_per_result": 1000}})))
    assert 0 < chars(body["results"][0]["excerpts"]) <= 1000
    assert body["results"][0]["full_content"] is None
    # fetch_policy at the top level.
    slow = origin.url("dyn/slow.html?k=beta" + path.replace("/", "-"))
    body = check_extract_body(ok_json(post(srv, path, {"urls": [slow], "fetch_policy": {"timeout_seconds": 1}})))
    assert [(e["url"], e["error_type"]) for e in body["errors"]] == [(slow, "timeout")], body


@pytest.mark.parametrize("path", ["/v1beta/extract", "/v1/extract"])
def test_advanced_settings_win_over_beta_fields(srv, origin, path):
    url = origin.url(MINUTES)
    body = check_extract_body(ok_json(post(srv, path, {"urls": [url], "full_content": False, "advanced_settings": {"full_content": True}})))
    assert body["results"][0]["full_content"], body
    body = check_extract_body(ok_json(post(srv, path, {"urls": [url], "full_content": True, "advanced_settings": {"full_content": False}})))
    assert body["results"][0]["full_content"] is None, body


# --------------------------------------------------------------------------------------
# SSRF
# --------------------------------------------------------------------------------------


def test_ssrf_refused_without_allow_private_fetch(origin, fresh_server):
    s = fresh_server("sqlite")
    assert "--allow-private-fetch" not in s.command()
    client = s.client()
    urls = [
        origin.url(LOOM),
        f"http://localhost:{origin.port}/{MINUTES}",
        f"http://[::1]:{origin.port}/{MINUTES}",
        "http://10.20.30.40/intranet.html",
        "http://169.254.169.254/latest/meta-data/",
    ]
    mark = origin.mark()
    res = client.extract(urls=urls, advanced_settings={"full_content": True})
    assert res.results == [], res.results
    errors = errors_by_url(res)
    assert set(errors) == set(urls), errors
    wrong = {u: (e.error_type, e.http_status_code) for u, e in errors.items() if (e.error_type, e.http_status_code) != ("ssrf_refused", None)}
    assert not wrong, wrong
    assert origin.since(mark) == [], f"the server reached the loopback origin: {origin.since(mark)}"
    assert usage_of(res) == {}, res.usage


# --------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------


def _rels(origin, res) -> list:
    return [origin.rel(r.url) for r in res.results]


def test_search_finds_fixture_pages(origin, client):
    res = client.search(search_queries=["Quellmoor mayor election"], objective="Who is the mayor of Quellmoor?")
    assert SEARCH_ID.match(res.search_id), res.search_id
    assert SESSION_ID.match(res.session_id), res.session_id
    rels = _rels(origin, res)
    assert rels and all(r in FIXTURE_PAGES for r in rels), rels
    assert len(set(rels)) == len(rels), f"duplicate results: {rels}"
    assert PRENN in rels[:3], rels
    for r, rel in zip(res.results, rels):
        assert r.title, r
        assert r.excerpts, r
        for e in r.excerpts:
            check_excerpt(e, rel)
    prenn = res.results[rels.index(PRENN)]
    assert "Odile Prenn" in "\n".join(prenn.excerpts), prenn.excerpts
    assert prenn.publish_date == "2022-11-07", prenn.publish_date
    assert "Odile Prenn elected mayor of Quellmoor" in prenn.title, prenn.title
    check_search_usage(res, len(res.results))


@pytest.mark.parametrize(
    "queries,objective,first",
    [
        (["Harlan Tobe Civic League"], "How many votes did Harlan Tobe get?", PRENN),  # the only page naming him
        (["Vellacourt twin town"], "Which town is Quellmoor twinned with?", "wiki.example/Quellmoor.html"),
    ],
)
def test_search_ranks_the_page_that_answers_first(origin, client, queries, objective, first):
    kw = {"objective": objective} if objective else {}
    res = client.search(search_queries=queries, **kw)
    rels = _rels(origin, res)
    assert rels and rels[0] == first, rels


def test_search_max_results(origin, client):
    queries = ["Zorblax Robotics"]
    default = client.search(search_queries=queries)
    assert 5 <= len(default.results) <= 10, _rels(origin, default)
    check_search_usage(default, len(default.results))
    three = client.search(search_queries=queries, advanced_settings={"max_results": 3})
    assert len(three.results) == 3, _rels(origin, three)
    one = client.search(search_queries=queries, advanced_settings={"max_results": 1})
    assert len(one.results) == 1
    many = client.search(search_queries=queries, advanced_settings={"max_results": 100})
    assert len(many.results) > 10, f"only {len(many.results)} results for a query most fixture pages match"
    check_search_usage(many, len(many.results))
    rels = _rels(origin, many)
    assert len(set(rels)) == len(rels), rels


def test_search_source_policy(origin, client):
    queries = ["Quellmoor Zorblax"]
    inc = client.search(search_queries=queries, advanced_settings={"source_policy": {"include_domains": ["127.0.0.1/wiki.example"]}, "max_results": 20})
    rels = _rels(origin, inc)
    assert rels and all(r.startswith("wiki.example/") for r in rels), rels
    exc = client.search(search_queries=queries, advanced_settings={"source_policy": {"exclude_domains": ["127.0.0.1/quellmoor-gazette.example"]}, "max_results": 20})
    rels = _rels(origin, exc)
    assert rels and not [r for r in rels if r.startswith("quellmoor-gazette.example/")], rels
    everything = client.search(search_queries=queries, advanced_settings={"max_results": 20})
    assert any(r.startswith("quellmoor-gazette.example/") for r in _rels(origin, everything)), "the exclusion test proves nothing"
    none = client.search(search_queries=queries, advanced_settings={"source_policy": {"include_domains": ["nowhere.example"]}})
    assert none.results == [], _rels(origin, none)


def test_search_source_policy_after_date(origin, client):
    queries = ["Quellmoor town news"]
    everything = client.search(search_queries=queries, advanced_settings={"max_results": 30})
    old = [r.url for r in everything.results if r.publish_date and r.publish_date < "2023-01-01"]
    assert old, "no dated result before 2023: the test proves nothing"
    res = client.search(search_queries=queries, advanced_settings={"max_results": 30, "source_policy": {"after_date": "2023-01-01"}})
    assert res.results, "after_date removed everything"
    early = [(r.url, r.publish_date) for r in res.results if r.publish_date and r.publish_date < "2023-01-01"]
    assert not early, early


def test_search_excerpt_budgets(origin, client):
    queries = ["Quellmoor population census"]
    res = client.search(search_queries=queries, advanced_settings={"excerpt_settings": {"max_chars_per_result": 1000}})
    assert res.results
    assert all(chars(r.excerpts) <= 1000 for r in res.results), [chars(r.excerpts) for r in res.results]
    # Below 1000 is raised to 1000.
    res = client.search(search_queries=queries, advanced_settings={"excerpt_settings": {"max_chars_per_result": 10}})
    assert res.results and all(r.excerpts for r in res.results), res.results
    assert all(chars(r.excerpts) <= 1000 for r in res.results), [chars(r.excerpts) for r in res.results]
    assert max(chars(r.excerpts) for r in res.results) > 100, [r.excerpts for r in res.results]
    res = client.search(search_queries=queries, max_chars_total=2000)
    assert res.results
    assert 0 < sum(chars(r.excerpts) for r in res.results) <= 2000


def test_search_session_and_modes(srv, origin):
    client = srv.client()
    res = client.search(search_queries=["Lantern Tide Festival"], session_id="agent-session-7", mode="fast", client_model="m")
    assert res.session_id == "agent-session-7"
    for path in ("/v1/search", "/v1beta/search"):
        for mode in ("turbo", "fast", "basic", "advanced", "one-shot", "agentic"):
            body = check_search_body(ok_json(post(srv, path, {"search_queries": ["Lantern Tide Festival"], "mode": mode})))
            assert body["results"], (path, mode)
        for processor in ("base", "pro"):
            check_search_body(ok_json(post(srv, path, {"search_queries": ["Lantern Tide Festival"], "processor": processor})))
        check_search_body(ok_json(post(srv, path, {"search_queries": ["Lantern Tide Festival"], "advanced_settings": {"location": "us"}})))


def test_beta_search(srv, origin):
    # Objective only.
    body = check_search_body(ok_json(post(srv, "/v1beta/search", {"objective": "Who is the mayor of Quellmoor?"}, headers=BETA)))
    rels = [origin.rel(r["url"]) for r in body["results"]]
    assert PRENN in rels, rels
    # Beta top-level settings.
    body = check_search_body(ok_json(post(srv, "/v1beta/search", {
        "search_queries": ["Zorblax Robotics"],
        "max_results": 2,
        "excerpts": {"max_chars_per_result": 1000},
        "source_policy": {"include_domains": ["127.0.0.1/wiki.example"]},
        "fetch_policy": {"max_age_seconds": 86400},
        "mode": "agentic",
    })))
    rels = [origin.rel(r["url"]) for r in body["results"]]
    assert 1 <= len(rels) <= 2 and all(r.startswith("wiki.example/") for r in rels), rels
    assert all(chars(r["excerpts"]) <= 1000 for r in body["results"])
    body = check_search_body(ok_json(post(srv, "/v1beta/search", {"search_queries": ["Zorblax Robotics"], "max_chars_per_result": 1000})))
    assert all(chars(r["excerpts"]) <= 1000 for r in body["results"])


def test_search_finds_a_page_first_read_by_extract(srv, origin, client):
    url = origin.url(LEDGER)
    queries = ["Ossorine madder ledger"]
    before = client.search(search_queries=queries)
    assert url not in [r.url for r in before.results], "the page was in the index before it was extracted"
    res = client.extract(urls=[url])
    assert [r.url for r in res.results] == [url], res

    def found():
        s = client.search(search_queries=queries)
        return s if s.results and s.results[0].url == url else None

    # The extracted page reaches the index in the background: wait until a search finds it.
    hit = wait_until(found, 5, interval=0.05, what="a search to find the extracted page (first)")
    r = hit.results[0]
    assert r.title == "The Ossorine madder ledger", r.title
    assert r.excerpts and any("Ossorine" in e for e in r.excerpts), r.excerpts
    # The page belongs to the tenant that read it (README): the other tenant does not find
    # it, though it does find the pages `index add` put in for everyone.
    other = srv.client(srv.other_key)
    assert url not in [x.url for x in other.search(search_queries=queries).results]
    assert PRENN in _rels(origin, other.search(search_queries=["Harlan Tobe Civic League"]))


def test_search_finds_a_page_the_tenant_read_from_the_cache(srv, origin):
    """Tenant A reads a page (now in the fetch cache); tenant B extracts it too, answered from
    the cache: B's later search finds it all the same."""
    a, b = srv.client(srv.key), srv.client(srv.other_key)
    url = origin.url(MINUTES)
    queries = ["Kemberly Weavers Guild winter meeting minutes"]

    def finds(client) -> bool:
        return url in [x.url for x in client.search(search_queries=queries).results]

    assert a.extract(urls=[url]).results
    # Once A's search finds the page, it is in the index: B still must not find it.
    wait_until(lambda: finds(a), 5, interval=0.05, what="A's search to find the page A extracted")
    assert not finds(b), "B sees a page only A read"
    mark = origin.mark()
    assert b.extract(urls=[url]).results
    assert origin.hits(url, mark) == 0, "expected B's read to come from the cache"
    wait_until(lambda: finds(b), 5, interval=0.05, what="B's search to find the page B extracted (from the cache)")


# --------------------------------------------------------------------------------------
# auth, validation, content type (both backends, shared servers)
# --------------------------------------------------------------------------------------

PATHS = ["/v1/extract", "/v1beta/extract", "/v1/search", "/v1beta/search"]


def _valid_body(path: str) -> dict:
    # An extract that touches no network: the shared servers refuse loopback.
    return {"urls": ["http://127.0.0.1:9/x.html"]} if path.endswith("extract") else {"search_queries": ["anything at all"]}


@pytest.mark.parametrize("path", PATHS)
def test_auth(server, path):
    body = compact(_valid_body(path))
    for headers in ({}, {"x-api-key": "pk_wrong"}, {"authorization": "Bearer pk_wrong"}):
        r = server.http(auth=False).post(path, content=body, headers={"content-type": "application/json", **headers})
        assert_error(r, 401)
    r = server.http(auth=False).post(path, content=body, headers={"content-type": "application/json", "authorization": f"Bearer {server.key}", **BETA})
    assert r.status_code == 200, r.text
    r = server.http().post(path, content=body, headers={"content-type": "application/json", **BETA})
    body = r.json()
    assert r.status_code == 200, r.text
    if path.endswith("extract"):
        check_extract_body(body)
        assert [(e["error_type"], e["http_status_code"]) for e in body["errors"]] == [("ssrf_refused", None)], body
    else:
        check_search_body(body)


URLS_21 = [f"http://127.0.0.1:9/{i}.html" for i in range(21)]
U = ["http://127.0.0.1:9/x.html"]

INVALID = [
    # extract
    ("extract-no-urls", "/v1/extract", {"objective": "x"}, "/urls"),
    ("extract-empty-urls", "/v1/extract", {"urls": []}, "/urls"),
    ("extract-21-urls", "/v1/extract", {"urls": URLS_21}, "/urls"),
    ("extract-url-number", "/v1/extract", {"urls": [5]}, "/urls/0"),
    ("extract-urls-string", "/v1/extract", {"urls": U[0]}, "/urls"),
    ("extract-urls-null", "/v1/extract", {"urls": None}, "/urls"),
    ("extract-objective-number", "/v1/extract", {"urls": U, "objective": 5}, "/objective"),
    ("extract-queries-string", "/v1/extract", {"urls": U, "search_queries": "q"}, "/search_queries"),
    ("extract-max-chars-string", "/v1/extract", {"urls": U, "max_chars_total": "many"}, "/max_chars_total"),
    ("extract-session-number", "/v1/extract", {"urls": U, "session_id": 7}, "/session_id"),
    ("extract-max-age-599", "/v1/extract", {"urls": U, "advanced_settings": {"fetch_policy": {"max_age_seconds": 599}}}, "/advanced_settings/fetch_policy/max_age_seconds"),
    ("extract-full-content-string", "/v1/extract", {"urls": U, "advanced_settings": {"full_content": "yes"}}, "/advanced_settings/full_content"),
    ("extract-excerpt-settings-string", "/v1/extract", {"urls": U, "advanced_settings": {"excerpt_settings": {"max_chars_per_result": "big"}}}, "/advanced_settings/excerpt_settings/max_chars_per_result"),
    ("beta-extract-no-urls", "/v1beta/extract", {"excerpts": True}, "/urls"),
    ("beta-extract-max-age-10", "/v1beta/extract", {"urls": U, "fetch_policy": {"max_age_seconds": 10}}, "/fetch_policy/max_age_seconds"),
    ("beta-extract-excerpts-string", "/v1beta/extract", {"urls": U, "excerpts": "yes"}, "/excerpts"),
    # search
    ("search-no-queries", "/v1/search", {}, "/search_queries"),
    ("search-objective-only-v1", "/v1/search", {"objective": "Who is the mayor of Quellmoor?"}, "/search_queries"),
    ("search-empty-queries", "/v1/search", {"search_queries": []}, "/search_queries"),
    ("search-blank-query", "/v1/search", {"search_queries": [""]}, "/search_queries"),
    ("search-query-number", "/v1/search", {"search_queries": [5]}, "/search_queries/0"),
    ("search-objective-number", "/v1/search", {"search_queries": ["q"], "objective": 5}, "/objective"),
    ("search-bad-mode", "/v1/search", {"search_queries": ["q"], "mode": "ludicrous"}, "/mode"),
    ("search-bad-processor", "/v1/search", {"search_queries": ["q"], "processor": "ultra"}, "/processor"),
    ("search-max-results-0", "/v1/search", {"search_queries": ["q"], "advanced_settings": {"max_results": 0}}, "/advanced_settings/max_results"),
    ("search-max-results-101", "/v1/search", {"search_queries": ["q"], "advanced_settings": {"max_results": 101}}, "/advanced_settings/max_results"),
    ("search-source-policy-scheme", "/v1/search", {"search_queries": ["q"], "advanced_settings": {"source_policy": {"include_domains": ["http://x.com"]}}}, "/advanced_settings/source_policy/include_domains"),
    ("search-source-policy-date", "/v1/search", {"search_queries": ["q"], "advanced_settings": {"source_policy": {"after_date": "2024-13-45"}}}, "/advanced_settings/source_policy/after_date"),
    ("search-location-usa", "/v1/search", {"search_queries": ["q"], "advanced_settings": {"location": "usa"}}, "/advanced_settings/location"),
    ("search-max-age-599", "/v1/search", {"search_queries": ["q"], "advanced_settings": {"fetch_policy": {"max_age_seconds": 599}}}, "/advanced_settings/fetch_policy/max_age_seconds"),
    ("beta-search-nothing", "/v1beta/search", {}, ""),
    ("beta-search-max-results-0", "/v1beta/search", {"objective": "x", "max_results": 0}, "/max_results"),
    ("beta-search-max-results-101", "/v1beta/search", {"objective": "x", "max_results": 101}, "/max_results"),
    ("beta-search-bad-mode", "/v1beta/search", {"objective": "x", "mode": "warp"}, "/mode"),
    ("beta-search-source-policy", "/v1beta/search", {"objective": "x", "source_policy": {"exclude_domains": ["not a domain!"]}}, "/source_policy/exclude_domains"),
]


@pytest.mark.parametrize("path,payload,pointer", [i[1:] for i in INVALID], ids=[i[0] for i in INVALID])
def test_invalid_request_is_422(server, path, payload, pointer):
    r = post(server, path, payload)
    if pointer == "":  # the whole body: any pointer
        detail = assert_error(r, 422)
        assert isinstance(detail, dict) and isinstance(detail.get("pointer"), str) and detail.get("reason"), detail
    else:
        check_422(r, pointer)


def test_limits_are_inclusive(server):
    """20 URLs, max_age_seconds 600, max_results 1 and 100 are accepted."""
    body = check_extract_body(ok_json(post(server, "/v1/extract", {
        "urls": [f"http://127.0.0.1:9/{i}.html" for i in range(20)],
        "advanced_settings": {"fetch_policy": {"max_age_seconds": 600, "timeout_seconds": 2.5, "disable_cache_fallback": True}},
    })))
    assert len(body["errors"]) == 20
    for n in (1, 100):
        check_search_body(ok_json(post(server, "/v1/search", {"search_queries": ["q"], "advanced_settings": {"max_results": n}})))


def test_invalid_via_sdk_is_unprocessable(server):
    client = server.client()
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.extract(urls=[])
    check_422(ei.value, "/urls")
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.search(search_queries=["q"], advanced_settings={"max_results": 0})
    check_422(ei.value, "/advanced_settings/max_results")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body", [b'{"urls": ["http://x', b"not json", b"", b"[]", b'"text"'], ids=["truncated", "garbage", "empty", "array", "string"])
def test_malformed_json_is_422(server, path, body):
    assert_error(post(server, path, body), 422)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None], ids=["text", "form", "none"])
def test_wrong_content_type_is_422(server, path, ctype):
    headers = {} if ctype is None else {"content-type": ctype}
    r = server.http().post(path, content=compact(_valid_body(path)), headers=headers)
    assert assert_error(r, 422)["pointer"] == ""
