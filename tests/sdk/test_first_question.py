"""The first question works: a fresh server searches Wikipedia beside its (empty) local index.

A newcomer's server has no pages of its own, so `wikipedia` joins `local` by default. Tests
stay offline: the "Wikipedia" here is a MediaWiki search API and its articles served on
loopback (`--wikipedia-api`), with the same JSON a real wiki answers. An unreachable wiki is a
warning on each run, never a failure, and `parallax serve` logs at start which providers runs
use and whether each web provider answered.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

ARTICLE_TITLE = "Larkspur Ferry Bridge"
ARTICLE = """<!doctype html><html><head><title>Larkspur Ferry Bridge - Wikipedia</title></head>
<body><nav>Main page Contents Current events Random article</nav>
<main><h1>Larkspur Ferry Bridge</h1>
<p>The <b>Larkspur Ferry Bridge</b> is a steel truss bridge over the river Quell in the
invented town of Larkspur. It replaced a cable ferry that had crossed at the same point
since the 1820s.</p>
<table class="infobox"><tr><th>Opened</th><td>1931</td></tr>
<tr><th>Total length</th><td>412 metres</td></tr>
<tr><th>Designer</th><td>Agathe Morrow</td></tr></table>
<p>The bridge was designed by the engineer Agathe Morrow and opened to traffic in 1931.
It is 412 metres long.</p></main>
<footer>Text is available under an invented licence.</footer></body></html>"""


class FakeWiki:
    """A MediaWiki `api.php` search answering one article for queries that share a word
    with its title, and the article itself under `/wiki/`. Every request is recorded."""

    def __init__(self):
        self.requests: list = []
        wiki = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                wiki.requests.append(url.path)
                if url.path == "/w/api.php":
                    query = parse_qs(url.query)
                    words = set(query.get("srsearch", [""])[0].lower().split())
                    hits = []
                    if words & set(ARTICLE_TITLE.lower().split()) or "encyclopedia" in words:
                        hits.append({"ns": 0, "title": ARTICLE_TITLE,
                                     "snippet": "The <span class=\"searchmatch\">Larkspur</span> Ferry Bridge",
                                     "timestamp": "2026-01-01T00:00:00Z"})
                    body = json.dumps({"batchcomplete": True, "query": {"search": hits}}).encode()
                    ctype = "application/json"
                    status = 200
                elif unquote(url.path) == "/wiki/" + ARTICLE_TITLE.replace(" ", "_"):
                    body, ctype, status = ARTICLE.encode(), "text/html; charset=utf-8", 200
                else:
                    body, ctype, status = b"not found", "text/plain", 404
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.api = f"http://127.0.0.1:{self.httpd.server_address[1]}/w/api.php"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def wiki():
    w = FakeWiki()
    yield w
    w.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCHEMA = {
    "type": "json",
    "json_schema": {
        "type": "object",
        "properties": {
            "opened_year": {"type": "integer", "description": "Year the bridge opened to traffic"},
            "designer": {"type": "string", "description": "Engineer who designed the bridge"},
        },
        "required": ["opened_year", "designer"],
        "additionalProperties": False,
    },
}


def test_a_fresh_server_answers_its_first_question_from_wikipedia(fresh_server, wiki):
    # No --search: the defaults, on an empty data directory.
    srv = fresh_server("sqlite", scripted=False, default_search=True,
                       extra_args=["--wikipedia-api", wiki.api, "--allow-private-fetch"])
    srv.wait_for_log("search providers: local (empty: add pages with `parallax index add`), wikipedia")
    srv.wait_for_log("search provider wikipedia is live", timeout=15)
    client = srv.client()
    run = client.task_run.create(
        input="When did the Larkspur Ferry Bridge open, and who designed it?",
        processor="lite",
        task_spec={"output_schema": SCHEMA},
    )
    result = client.task_run.result(run.run_id, api_timeout=120)
    assert result.run.status == "completed", result
    article = wiki.api.replace("/w/api.php", "/wiki/Larkspur_Ferry_Bridge")
    assert result.output.content["opened_year"] == 1931, result.output
    assert result.output.content["designer"] == "Agathe Morrow", result.output
    cited = {c.url for b in result.output.basis for c in (b.citations or [])}
    assert article in cited, cited
    # The article was really read from the wiki, after a real search.
    assert "/w/api.php" in wiki.requests and "/wiki/Larkspur_Ferry_Bridge" in wiki.requests


def test_an_unreachable_wikipedia_is_a_warning_never_a_failure(fresh_server):
    srv = fresh_server("sqlite", scripted=False, default_search=True,
                       extra_args=["--wikipedia-api", f"http://127.0.0.1:{closed_port()}/w/api.php"])
    srv.wait_for_log("search provider wikipedia is unreachable", "runs go on without it", timeout=20)
    client = srv.client()
    run = client.task_run.create(input="Who designed the Larkspur Ferry Bridge?", processor="lite")
    result = client.task_run.result(run.run_id, api_timeout=120)
    assert result.run.status == "completed", result
    warnings = [w.message for w in (result.run.warnings or [])]
    assert any("wikipedia" in w and "failed" in w for w in warnings), (warnings, result)


def test_an_empty_local_index_alone_is_named_at_start(fresh_server):
    srv = fresh_server("sqlite", scripted=False, extra_args=["--search", "local"])
    srv.wait_for_log("the only search provider is an empty local index")
    lines = srv.wait_for_log("search providers: ")
    assert all(l.rstrip().endswith("search providers: local (empty: add pages with `parallax index add`)") for l in lines), lines
