"""The web dashboard at /ui.

- Its routes over raw httpx, on both backends: the page and its two assets (no key needed;
  Content-Security-Policy without inline script, nosniff, no-store), and the dashboard's own
  list endpoint `GET /ui/api/runs` (401 without a key, newest first, cursor paging, tenant
  isolation, 422 in the API's error shape for bad parameters).
- The page itself in headless Chromium (Debian's `chromium`, driven by Playwright with the
  system browser; `playwright install` is never run): sign-in (a wrong key is refused), a run
  created through the form and watched to completion on the real research pipeline over the
  fixture web, its basis opened to a citation link and an excerpt the page really states, the
  runs list without another tenant's runs, paging, task groups with live counts, monitors,
  FindAll, the search and extract playground, API data shown as text (never markup), a 401
  sending the page back to sign-in, and sign-out clearing session storage. Throughout: no
  console errors, and no key in any URL the page requested.

Without /usr/bin/chromium the browser tests are skipped, or fail when CI=true (.ci/run installs it).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from support import assert_error, new_key, wait_until
from test_research import QUESTIONS, FixtureWeb, _indexed_server, excerpt_in_page

CHROMIUM = Path("/usr/bin/chromium")
KEY_ITEM = "parallax.api_key"
CSP_RE = re.compile(r"(^|;)\s*default-src 'self'")
RUN_WAIT_MS = 60_000


# --------------------------------------------------------------------------------------
# the routes, over httpx (no browser)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path,ctype", [
    ("/ui", "text/html"),
    ("/ui/", "text/html"),
    ("/ui/app.js", "text/javascript"),
    ("/ui/app.css", "text/css"),
])
def test_static_routes_need_no_key_and_lock_the_page_down(server, path, ctype):
    resp = server.http(auth=False).get(path)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["content-type"].startswith(ctype), resp.headers
    csp = resp.headers["content-security-policy"]
    assert CSP_RE.search(csp), csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["referrer-policy"] == "no-referrer"
    if ctype == "text/html":
        # No inline script: every <script> loads /ui/app.js, and no on* handler attributes.
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", resp.text, re.S)
        assert scripts == [""], scripts
        assert 'src="/ui/app.js"' in resp.text
        assert not re.search(r"\son[a-z]+=", resp.text)


def test_list_runs_needs_a_key(server):
    for headers in ({}, {"x-api-key": "pk_test_not_a_key"}, {"authorization": "Bearer nope"}):
        resp = server.http(auth=False, headers=headers).get("/ui/api/runs")
        assert_error(resp, 401)


def test_list_runs_newest_first_paged_and_per_tenant(server):
    mine = server.http()
    # The shared server's tenants hold other tests' runs too: the newest are the ones made here.
    created = []
    for i in range(5):
        resp = mine.post("/v1/tasks/runs", json={"input": f"list {i}", "processor": "lite"})
        assert resp.status_code == 202, resp.text
        created.append(resp.json()["run_id"])
        time.sleep(0.002)  # distinct creation times, so the order is by time alone
    theirs = server.http(key=server.other_key).post("/v1/tasks/runs", json={"input": "theirs", "processor": "lite"})
    assert theirs.status_code == 202
    their_id = theirs.json()["run_id"]

    first = mine.get("/ui/api/runs", params={"limit": 3})
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/json")
    page = first.json()
    assert set(page) == {"runs", "next_cursor"}, page
    # The newest runs of this tenant are the ones just created, newest first.
    assert [r["run_id"] for r in page["runs"]] == created[::-1][:3], page
    for run in page["runs"]:
        assert run["processor"] == "lite" and run["status"] in {"queued", "running", "completed"}, run
        assert {"run_id", "status", "processor", "created_at", "modified_at", "is_active"} <= set(run), run
    assert isinstance(page["next_cursor"], str) and page["next_cursor"]

    second = mine.get("/ui/api/runs", params={"limit": 2, "before": page["next_cursor"]}).json()
    assert [r["run_id"] for r in second["runs"]] == created[::-1][3:5], second

    # Walking every page sees each run once and never the other tenant's.
    seen, cursor = [], None
    while True:
        params = {"limit": 100}
        if cursor:
            params["before"] = cursor
        body = mine.get("/ui/api/runs", params=params).json()
        seen += [r["run_id"] for r in body["runs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(created) <= set(seen) and their_id not in seen
    their_list = server.http(key=server.other_key).get("/ui/api/runs").json()["runs"]
    assert their_id in [r["run_id"] for r in their_list]
    assert not set(created) & {r["run_id"] for r in their_list}


@pytest.mark.parametrize("query,pointer", [
    ("limit=0", "/query/limit"),
    ("limit=101", "/query/limit"),
    ("limit=ten", "/query/limit"),
    ("limit=-1", "/query/limit"),
    ("before=trun_xyz", "/query/before"),
    ("before=../../etc", "/query/before"),
])
def test_list_runs_refuses_bad_parameters(server, query, pointer):
    resp = server.http().get(f"/ui/api/runs?{query}")
    detail = assert_error(resp, 422)
    assert detail["errors"][0]["pointer"] == pointer, detail


# --------------------------------------------------------------------------------------
# the browser
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


class Tab:
    """A browser context and page on one server, recording console errors, page errors and
    every URL requested."""

    def __init__(self, browser, srv):
        self.srv = srv
        self.context = browser.new_context()
        self.context.set_default_timeout(20_000)
        self.errors: list = []
        self.urls: list = []
        self.context.on("request", lambda req: self.urls.append(req.url))
        self.page = self.context.new_page()
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def open(self, hash: str = "") -> "Tab":
        self.page.goto(f"{self.srv.base_url}/ui{hash}")
        return self

    def sign_in(self, key: str) -> "Tab":
        self.page.fill("#signin-key", key)
        self.page.click("#signin-form button[type=submit]")
        return self

    def go(self, hash: str) -> None:
        self.page.evaluate("h => { location.hash = h; }", hash)

    def session_key(self):
        return self.page.evaluate(f"() => sessionStorage.getItem({KEY_ITEM!r})")

    def check_clean(self, *keys: str) -> None:
        """No console or page errors, and no key in any URL requested."""
        assert self.errors == [], self.errors
        assert self.urls, "the page requested nothing"
        for url in self.urls:
            for key in keys:
                assert key not in url, url

    def close(self):
        self.context.close()


@pytest.fixture
def tabs(browser):
    made: list = []

    def tab(srv) -> Tab:
        t = Tab(browser, srv)
        made.append(t)
        return t

    yield tab
    for t in made:
        t.close()


@pytest.fixture(scope="module")
def web():
    w = FixtureWeb()
    yield w
    w.close()


@pytest.fixture(scope="module")
def research(server_factory, parallax_bin, web):
    """A real-pipeline server (extractive, no LLM) whose local index holds the fixture web."""
    srv = _indexed_server(server_factory, parallax_bin, web)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def scripted(server_factory):
    """A scripted-processor SQLite server with two tenants."""
    srv = server_factory("sqlite")
    yield srv
    srv.stop()


def test_sign_in_run_watch_and_read_the_basis(tabs, research, web):
    q = QUESTIONS["zorblax_founded_on"]
    # The other tenant has a run; this tenant's list must never show it.
    their = research.client(key=research.other_key).task_run.create(input="their question", processor="lite")

    # A wrong key is refused and nothing is kept.
    wrong = tabs(research).open()
    wrong.page.wait_for_selector("#signin-form")
    wrong_key = new_key()
    wrong.sign_in(wrong_key)
    wrong.page.wait_for_selector("#signin-message:has-text('refused')")
    assert wrong.session_key() is None
    assert wrong.page.is_hidden("#nav")
    assert all(wrong_key not in url for url in wrong.urls)

    tab = tabs(research).open()
    page = tab.page
    assert page.is_visible("#signin-form") and page.is_hidden("#nav")
    tab.sign_in(research.key)
    page.wait_for_selector("#runs-table")
    assert tab.session_key() == research.key
    assert page.evaluate("() => localStorage.length") == 0
    assert tab.context.cookies() == []

    # A new run through the form, with an output schema; then its page follows it live.
    page.click("#nav a[data-nav=new]")
    page.fill("#new-input", q["input"])
    page.select_option("#new-processor", "base")
    page.fill("#new-schema", json.dumps(q["output_schema"]))
    page.click("#new-run-form button[type=submit]")
    page.wait_for_url(re.compile(r"#/runs/trun_[0-9a-f]{32}$"))
    run_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#run-head .badge.status-completed", timeout=RUN_WAIT_MS)
    page.wait_for_selector("#output table.fields")
    # It was watched live: the progress section shows the run's events and a full meter.
    assert page.is_visible("#progress")
    assert page.locator("#progress-messages li").count() > 0
    assert page.eval_on_selector("#progress-meter", "m => m.value") == 100
    # The input as sent, the output, and the basis.
    page.wait_for_selector("#input pre.json")
    assert q["input"] in page.inner_text("#input")
    assert "2011-03-05" in page.inner_text("#output table.fields")
    field = page.locator("details.basis-field[data-field=founded_on]")
    assert field.count() == 1
    assert not field.locator("a.url").first.is_visible()  # closed until opened
    field.locator("summary").click()
    link = field.locator("a.url").first
    assert link.is_visible()
    href = link.get_attribute("href")
    assert web.rel(href) is not None, href
    assert link.get_attribute("rel") == "noopener noreferrer" and link.get_attribute("target") == "_blank"
    excerpt = field.locator("blockquote.excerpt").first
    assert excerpt.is_visible()
    assert excerpt_in_page(excerpt.inner_text(), web.rel(href)), (excerpt.inner_text(), href)
    assert field.locator(".confidence").inner_text() in {"low", "medium", "high"}
    # The same answer the API gives.
    result = research.client().task_run.result(run_id, api_timeout=5)
    assert result.output.content["founded_on"] == "2011-03-05"

    # The runs list shows it, completed, and never the other tenant's run.
    tab.go("#/runs")
    row = page.locator(f"#runs-table tr[data-run-id={run_id}]")
    row.wait_for()
    assert "completed" in row.inner_text() and "base" in row.inner_text()
    assert page.locator(f"#runs-table tr[data-run-id={their.run_id}]").count() == 0

    # Search and extract on the fixture web.
    tab.go("#/playground")
    page.fill("#search-objective", "Zorblax Robotics founded")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-results .web-result a.url")
    hrefs = [a.get_attribute("href") for a in page.locator("#search-results a.url").all()]
    assert any(web.rel(h) for h in hrefs), hrefs
    page.fill("#extract-urls", web.url("zorblax.example/about.html"))
    page.fill("#extract-objective", "When was Zorblax founded?")
    page.check("#extract-full")
    page.click("#extract-form button[type=submit]")
    page.wait_for_selector("#extract-results .web-result blockquote.excerpt")
    assert "Zorblax" in page.inner_text("#extract-results")

    # Sign-out forgets the key.
    page.click("#sign-out")
    page.wait_for_selector("#signin-form")
    assert page.evaluate("() => sessionStorage.length") == 0
    assert page.is_hidden("#nav") and page.inner_text("#view") == ""
    tab.go("#/runs")
    page.wait_for_selector("#signin-form")
    tab.check_clean(research.key, research.other_key, wrong_key)


def test_runs_list_pages_and_isolates_tenants(tabs, scripted):
    mine = scripted.client()
    ids = [mine.task_run.create(input=f"paged {i}", processor="lite").run_id for i in range(53)]
    their = scripted.client(key=scripted.other_key).task_run.create(input="not yours", processor="lite").run_id
    tab = tabs(scripted).open("#/runs")
    tab.sign_in(scripted.key)
    page = tab.page
    page.wait_for_selector("#runs-table tbody tr")
    assert page.locator("#runs-table tbody tr").count() == 50
    page.click("#runs-older")
    wait_until(lambda: page.locator("#runs-table tbody tr").count() >= 53, 10, what="the older page")
    shown = [r.get_attribute("data-run-id") for r in page.locator("#runs-table tbody tr").all()]
    assert len(shown) == len(set(shown))
    assert set(ids) <= set(shown) and their not in shown
    assert page.is_hidden("#runs-older")
    tab.check_clean(scripted.key, scripted.other_key)


def test_api_data_is_shown_as_text_never_markup(tabs, scripted):
    markup = '<img id="xss" src="x" onerror="window.hacked=1"><b id="bold">b</b>'
    run = scripted.client().task_run.create(input=markup, processor="lite", metadata={"note": markup})
    tab = tabs(scripted).open(f"#/runs/{run.run_id}")
    tab.sign_in(scripted.key)
    page = tab.page
    page.wait_for_selector("#run-head .badge.status-completed", timeout=RUN_WAIT_MS)
    page.wait_for_selector("#input pre.json")
    assert markup in page.inner_text("#input")
    assert page.locator("#xss").count() == 0 and page.locator("#bold").count() == 0
    assert page.evaluate("() => window.hacked") is None
    tab.check_clean(scripted.key)


def test_a_refused_key_returns_to_sign_in(tabs, scripted):
    tab = tabs(scripted).open("#/runs")
    tab.sign_in(scripted.key)
    page = tab.page
    page.wait_for_selector("#runs-table")
    # The key stops working (as when it is revoked): the next call's 401 signs out.
    page.evaluate(f"() => sessionStorage.setItem({KEY_ITEM!r}, 'pk_test_revoked')")
    tab.go("#/monitors")
    page.wait_for_selector("#signin-message:has-text('401')")
    assert tab.session_key() is None
    assert page.is_hidden("#nav")
    # The browser logs the refused request itself; nothing else may be an error.
    assert all("401" in e for e in tab.errors), tab.errors


def test_errors_show_their_message_and_ref_id(tabs, scripted):
    tab = tabs(scripted).open("#/runs/new")
    tab.sign_in(scripted.key)
    page = tab.page
    page.wait_for_selector("#new-run-form")
    page.fill("#new-input", "a question")
    page.fill("#new-schema", '{"type": "json", "json_schema": {"type": "array"}}')
    page.click("#new-run-form button[type=submit]")
    box = page.locator("#new-error .error")
    box.wait_for()
    assert "422" in box.inner_text()
    ref = box.locator(".ref code").inner_text()
    assert re.fullmatch(r"[0-9a-f-]{36}", ref), ref
    assert "#/runs/new" in page.url  # stayed on the form
    assert all("422" in e for e in tab.errors), tab.errors


def test_task_group_counts_live(tabs, scripted):
    client = scripted.http()
    gid = client.post("/v1/tasks/groups", json={"metadata": {"batch": "ui"}}).json()["taskgroup_id"]
    tab = tabs(scripted)
    tab.open("#/groups")
    tab.sign_in(scripted.key)
    page = tab.page
    page.fill("#open-id", gid)
    page.click("#open-form button[type=submit]")
    page.wait_for_selector("#group-status")
    assert "no runs yet" in page.inner_text("#group-message")
    # Runs added while the page watches: the counts follow the group's events.
    added = client.post(f"/v1/tasks/groups/{gid}/runs", json={"inputs": [
        {"input": f"g{i}", "processor": "lite", "metadata": {"scripted_sleep": 4000}} for i in range(3)
    ]})
    assert added.status_code == 200, added.text
    page.wait_for_selector("#group-message:has-text('0 of 3 runs ended')", timeout=RUN_WAIT_MS)
    page.wait_for_selector("#group-message:has-text('3 of 3 runs ended (3 completed)')", timeout=RUN_WAIT_MS)
    assert page.locator("#group-endings li").count() == 3
    tab.check_clean(scripted.key)


def test_monitors_list(tabs, scripted):
    created = scripted.http().post("/v1/monitors", json={
        "type": "event_stream", "frequency": "1d", "settings": {"query": "news about Zorblax"},
    })
    assert created.status_code == 201, created.text
    mid = created.json()["monitor_id"]
    tab = tabs(scripted).open("#/monitors")
    tab.sign_in(scripted.key)
    page = tab.page
    page.wait_for_selector(f"#monitors-table td:has-text('{mid}')")
    assert "news about Zorblax" in page.inner_text("#monitors-table")
    tab.check_clean(scripted.key)


def test_findall_run_by_id(tabs, research):
    created = research.http().post("/v1beta/findall/runs", json={
        "objective": "Find all robotics companies",
        "entity_type": "companies",
        "match_conditions": [{"name": "robotics", "description": "The company builds robots."}],
        "generator": "base",
        "match_limit": 5,
    })
    assert created.status_code in (200, 201, 202), created.text
    fid = created.json()["findall_id"]
    tab = tabs(research).open("#/findall")
    tab.sign_in(research.key)
    page = tab.page
    page.fill("#open-id", fid)
    page.click("#open-form button[type=submit]")
    page.wait_for_selector("#view dl.facts .badge")
    wait_until(lambda: research.client().beta.findall.retrieve(fid).status.is_active is False, 60, what="the FindAll run to end")
    final = research.client().beta.findall.retrieve(fid).status.status
    page.wait_for_selector(f"#view dl.facts .badge.status-{final}", timeout=10_000)
    shown = page.locator("#candidates tbody tr").count()
    listed = research.http().get(f"/v1beta/findall/runs/{fid}/result").json()["candidates"]
    assert shown == len(listed)
    tab.check_clean(research.key)
