"""Nothing a user sends, and no bug, takes the server down (issue 10, section 4): real
`parallax serve` processes through the official SDK and raw httpx.

- `/healthz` answers 200 `ok` on both backends while the store's writers run (the 503 when
  a writer is gone needs an injected failure: `crates/server/tests/robustness.rs`).
- API keys: a key made by `parallax keys create` beside the running server works on its
  very first request; a flood of unknown keys is answered 401 and leaves the server serving.
- Hostile pages and PDFs: dates such as `2024-01-0é` in `<meta>`, JSON-LD, `<time>` and a
  PDF's `CreationDate` (which panicked the date reader), and a sentence that ends after a
  no-break space (which panicked the passage splitter), are extracted like any page: title,
  content and the dates that can be read, no error entry, no fallback to bare text.
- Invalid operator settings are refused at start with what is accepted (exit status 2), as
  a flag and as a `PARALLAX_*` variable (every numeric setting: `crates/cli/tests/flags.rs`).
"""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import parallel
import pytest

from support import BACKENDS, assert_error, clean_env, new_key

# --------------------------------------------------------------------------------------
# /healthz
# --------------------------------------------------------------------------------------


def test_healthz_is_ok_while_the_writers_run(server):
    with httpx.Client(base_url=server.base_url, trust_env=False) as http:
        resp = http.get("/healthz")
        assert (resp.status_code, resp.text) == (200, "ok")
        # It needs no key, and a write in between changes nothing.
        server.client().task_run.create(input="What is the tallest tower?", processor="lite")
        resp = http.get("/healthz")
        assert (resp.status_code, resp.text) == (200, "ok")


# --------------------------------------------------------------------------------------
# API keys
# --------------------------------------------------------------------------------------


def keys_create(binary, srv) -> str:
    """`parallax keys create` on the store of a running server; returns the new key."""
    cmd = [str(binary), "keys", "create", "--label", "robustness", "--data-dir", str(srv.data_dir)]
    if srv.database_url:
        cmd += ["--database-url", srv.database_url]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=clean_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    key = proc.stdout.strip().splitlines()[0]
    assert key.startswith("px_"), proc.stdout
    return key


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_key_created_beside_the_server_works_at_once(fresh_server, parallax_bin, backend):
    srv = fresh_server(backend)
    # Unknown keys first: they are refused (and remembered as misses) without harm.
    for _ in range(3):
        with pytest.raises(parallel.AuthenticationError) as err:
            srv.client(key=new_key()).task_run.create(input="q", processor="lite")
        assert_error(err.value, 401)
    key = keys_create(parallax_bin, srv)
    run = srv.client(key=key).task_run.create(input="What is the tallest tower?", processor="lite")
    assert run.status == "queued"
    # The new key is its own tenant: the server's configured key does not see that run.
    with pytest.raises(parallel.NotFoundError):
        srv.client().task_run.retrieve(run.run_id)
    assert srv.client(key=key).task_run.retrieve(run.run_id).run_id == run.run_id


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_flood_of_unknown_keys_is_refused_and_the_server_serves_on(fresh_server, backend):
    srv = fresh_server(backend)
    keys = [new_key() for _ in range(400)] * 2  # each tried twice: the second from the cache

    def attempt(key: str) -> int:
        with httpx.Client(base_url=srv.base_url, trust_env=False, timeout=30) as http:
            return http.get("/v1/tasks/runs/trun_0", headers={"x-api-key": key}).status_code

    with cf.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(attempt, keys))
    assert statuses == [401] * len(keys)
    assert srv.alive(), srv.log_tail()
    run = srv.client().task_run.create(input="still serving?", processor="lite")
    assert srv.client().task_run.retrieve(run.run_id).run_id == run.run_id
    # No key, wrong or right, ever reaches the log.
    log = srv.log_path.read_text("utf-8", "replace")
    assert not any(k in log for k in keys[:400] + srv.keys)


# --------------------------------------------------------------------------------------
# hostile pages and PDFs
# --------------------------------------------------------------------------------------

HOSTILE_TITLE = "Harbour dredging resumes"
HOSTILE_HTML = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
    f"<title>{HOSTILE_TITLE} | Gazette</title>"
    "<meta property=\"article:published_time\" content=\"2024-01-0é\">"
    "<meta name=\"date\" content=\"2024-0€-15\">"
    "<script type=\"application/ld+json\">"
    "{\"@type\":\"NewsArticle\",\"datePublished\":\"2024-01-1日\",\"headline\":\"Harbour dredging resumes\"}"
    "</script></head><body><nav><a href=\"/\">Home</a></nav><main><article>"
    f"<h1>{HOSTILE_TITLE}</h1><time datetime=\"2024-03-0\u00e9\">March</time>"
    "<p>The dredger Marlow Bell returned to the inner harbour on Tuesday. Work had stopped for "
    "eleven weeks while the pilots renegotiated their contract with the port authority.</p>"
    # A paragraph long enough to be cut into passages at sentence ends, each sentence ending
    # after a word that follows a no-break space (the cut used to slice inside that space).
    + "<p>" + " ".join(f"Berth {i} lies beside the\u00a0St. Mary's quay, closed until the\u00a0spring." for i in range(60)) + "</p>"
    "<p>Forty-two berths will be deepened to fourteen metres. The works cost 3.1 million crowns.</p>"
    "</article></main><footer>Gazette footer</footer></body></html>"
).encode("utf-8")


def _hostile_pdf() -> bytes:
    """A one-page PDF whose CreationDate is `D:2024-01-0é` (UTF-8, as a hex string)."""

    def hexstr(text: str) -> str:
        return "<" + text.encode("utf-8").hex().upper() + ">"

    content = "BT\n/F1 12 Tf\n72 720 Td\n(Tide tables for the inner harbour) Tj\n0 -18 Td\n(High water at 06:12.) Tj\nET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title {hexstr('Harbour tide tables')} /CreationDate {hexstr('D:2024-01-0é')} >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for o in offsets:
        out += f"{o:010} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


HOSTILE = {
    "/news/2023/11/05/hostile.html": ("text/html; charset=utf-8", HOSTILE_HTML),
    "/docs/tides.pdf": ("application/pdf", _hostile_pdf()),
}


@pytest.fixture(scope="module")
def hostile_origin():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            ctype, body = HOSTILE.get(self.path, ("text/plain", b"not found"))
            self.send_response(200 if self.path in HOSTILE else 404)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_hostile_dates_in_a_page_are_read_like_any_page(fresh_server, hostile_origin):
    srv = fresh_server("sqlite", extra_args=["--allow-private-fetch"])
    url = hostile_origin + "/news/2023/11/05/hostile.html"
    res = srv.client().extract(urls=[url], objective="dredging cost", advanced_settings={"full_content": True})
    assert not res.errors, res.errors
    (r,) = res.results
    # The extractor ran to its end: the title and the article, without the page's menus (the
    # bare-text fallback it used to fall back to after the date reader panicked keeps them).
    assert r.title == HOSTILE_TITLE, r.title
    assert "3.1 million crowns" in r.full_content and "Gazette footer" not in r.full_content, r.full_content
    assert "Berth 59 lies beside the" in r.full_content, r.full_content
    # None of the broken dates is a date: the URL's is used.
    assert r.publish_date == "2023-11-05", r.publish_date
    assert srv.alive()


def test_a_pdf_with_a_hostile_creation_date_is_read(fresh_server, hostile_origin):
    srv = fresh_server("sqlite", extra_args=["--allow-private-fetch"])
    res = srv.client().extract(urls=[hostile_origin + "/docs/tides.pdf"], advanced_settings={"full_content": True})
    assert not res.errors, res.errors
    (r,) = res.results
    assert r.title == "Harbour tide tables", r.title
    assert "High water at 06:12." in r.full_content, r.full_content
    assert r.publish_date is None
    assert srv.alive()


# --------------------------------------------------------------------------------------
# operator settings
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, env",
    [
        (["--max-run-seconds", "-1"], {}),
        ([], {"PARALLAX_MAX_RUN_SECONDS": "-1"}),
        ([], {"PARALLAX_WEBHOOK_RETRY_SECONDS": "NaN"}),
        (["--input-cache-mib", "18446744073709551615"], {}),
    ],
)
def test_invalid_settings_are_refused_at_start(parallax_bin, tmp_path, args, env):
    cmd = [str(parallax_bin), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")] + args
    proc = subprocess.run(
        cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env={**clean_env(), **env}, timeout=30
    )
    assert proc.returncode == 2, proc.stderr
    assert "panicked" not in proc.stderr, proc.stderr
    assert "must be a" in proc.stderr and " from " in proc.stderr, proc.stderr
    for var in env:
        assert f"came from the environment variable {var}" in proc.stderr, proc.stderr
