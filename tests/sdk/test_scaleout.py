"""Scale-out on one PostgreSQL database (issue 17, part 6): the index of pages read is shared by
every node (a page read on node A is found by a search on node B, for its tenant only), and
`--role api|worker|all` splits HTTP nodes from workers (an api node and two workers finish
every run exactly once though one worker is SIGKILLed mid-run).

Servers run on one fresh schema each test (`fresh_schema_name`), several per schema as nodes
would; what the database holds is checked with `psql`."""

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import httpx
import pytest

from support import clean_env, fresh_schema_name, index_add, new_key, wait_until

RUNS = "/v1/tasks/runs"
PAGE_TITLE = "The Quillmoor lantern registry"
PAGE_HTML = f"""<!doctype html><html><head><title>{PAGE_TITLE}</title></head><body><main>
<h1>{PAGE_TITLE}</h1>
<p>The Quillmoor lantern registry lists every brass lantern lit on the harbour wall since
1871, with the keeper who trimmed each wick and the weather of the night.</p>
<p>Keepers of the registry met each spring to compare soot marks and oil ledgers; their
minutes note that the northern lanterns burned whale oil until 1902.</p>
</main></body></html>"""


class Site:
    """A one-page loopback site that can be taken down."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = PAGE_HTML.encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/registry.html"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def down(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def schema_url(base: str) -> tuple:
    schema = fresh_schema_name()
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options=-csearch_path%3D{schema}"


def psql(base: str, schema: str, sql: str) -> list:
    """Rows of `sql` run in `schema`, each a list of text fields."""
    parsed = urlparse(base)
    dsn = f"postgresql://{parsed.username or 'postgres'}@{parsed.hostname or '127.0.0.1'}:{parsed.port or 5432}{parsed.path or '/test'}"
    out = subprocess.run(
        ["psql", dsn, "-XAtq", "-F", "\t", "-c", f'SET search_path TO "{schema}"; {sql}'],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def search_urls(srv, key: str, query: str) -> list:
    client = srv.client(key)
    return [r.url for r in client.search(search_queries=[query]).results]


def test_a_page_read_on_one_node_is_found_on_another_for_its_tenant_only(server_factory, database_url):
    _, url = schema_url(database_url)
    keys = [new_key(), new_key()]
    tenant_t, tenant_u = keys
    args = ["--search", "local", "--allow-private-fetch"]
    node_a = server_factory("postgres", database_url=url, keys=keys, extra_args=args)
    node_b = server_factory("postgres", database_url=url, keys=keys, extra_args=args)
    site = Site()
    query = "Quillmoor lantern registry"
    assert site.url not in search_urls(node_b, tenant_t, query)

    # Tenant T reads the page on node A (Extract fetches it over loopback).
    res = node_a.client(tenant_t).extract(urls=[site.url])
    assert [r.url for r in res.results] == [site.url], res
    # The page reaches the index in the background; then the site goes away, so node B can
    # only know it from the shared index.
    wait_until(lambda: site.url in search_urls(node_a, tenant_t, query), 10, interval=0.1,
               what="node A's search to find the page T read")
    site.down()

    hits = node_b.client(tenant_t).search(search_queries=[query]).results
    assert [h.url for h in hits] == [site.url], hits
    assert hits[0].title == PAGE_TITLE
    assert hits[0].excerpts and any("lantern" in e for e in hits[0].excerpts), hits[0].excerpts
    # Tenant U never read it: on neither node does it find it.
    assert site.url not in search_urls(node_b, tenant_u, query)
    assert site.url not in search_urls(node_a, tenant_u, query)


def test_index_add_with_a_database_url_shares_pages_a_real_run_on_any_node_cites(server_factory, database_url, parallax_bin, tmp_path):
    _, url = schema_url(database_url)
    keys = [new_key(), new_key()]
    site = Site()
    added = subprocess.run(
        [str(parallax_bin), "index", "add", "--database-url", url, "--allow-private-fetch", site.url],
        capture_output=True, text=True, timeout=60, env=clean_env(),
    )
    assert added.returncode == 0, added.stderr
    assert "indexed 1 page(s)" in added.stdout, added.stdout
    site.down()
    # The research pipeline (not the scripted processor) on a node that never saw the site:
    # the page comes from the shared index, for every tenant.
    node = server_factory("postgres", database_url=url, keys=keys, scripted=False)
    assert "local (1 pages)" in node.wait_for_log("search providers")[0]
    for key in keys:
        client = node.client(key)
        run = client.task_run.create(input="Since which year does the Quillmoor lantern registry list lanterns?",
                                     processor="lite")
        res = client.task_run.result(run.run_id, api_timeout=60)
        assert res.run.status == "completed", res.run
        cited = {c.url for b in res.output.basis for c in (b.citations or [])}
        assert site.url in cited, res.output


def run_events(base: str, schema: str) -> dict:
    """Per run: how many times it was set running, and how many times completed."""
    rows = psql(
        base,
        schema,
        "SELECT run_id,"
        " count(*) FILTER (WHERE data LIKE '%\"type\":\"task_run.state\"%' AND data LIKE '%\"status\":\"running\"%'),"
        " count(*) FILTER (WHERE data LIKE '%\"type\":\"task_run.state\"%' AND data LIKE '%\"status\":\"completed\"%')"
        " FROM run_events GROUP BY run_id",
    )
    return {run: (int(running), int(completed)) for run, running, completed in rows}


def test_an_api_node_and_two_workers_finish_every_run_once_though_a_worker_is_killed(server_factory, database_url):
    schema, url = schema_url(database_url)
    keys = [new_key(), new_key()]
    lease = ["--lease-seconds", "2"]
    api = server_factory("postgres", database_url=url, keys=keys, extra_args=["--role", "api", *lease])
    workers = [
        server_factory("postgres", database_url=url, keys=keys,
                       extra_args=["--role", "worker", "--concurrency", "3", *lease])
        for _ in range(2)
    ]
    # A worker serves health and metrics only; an api node serves the API.
    for worker in workers:
        with httpx.Client(base_url=worker.base_url, trust_env=False, timeout=10) as c:
            assert c.get("/healthz").status_code == 200
            assert c.get("/metrics").status_code == 200
            assert c.post(RUNS, json={"input": "x", "processor": "lite"},
                          headers={"x-api-key": keys[0]}).status_code == 404

    http = api.http(keys[0])
    run_ids = []
    for i in range(12):
        r = http.post(RUNS, json={"input": f"question {i}", "processor": "lite",
                                  "metadata": {"scripted_sleep": 3000}})
        assert r.status_code == 202, r.text
        run_ids.append(r.json()["run_id"])

    def running() -> int:
        return sum(1 for rid in run_ids if http.get(f"{RUNS}/{rid}").json()["status"] == "running")

    # Both workers hold runs (three each at most): kill one in the middle of its runs.
    wait_until(lambda: running() >= 6, 30, interval=0.1, what="both workers to run three runs")
    workers[0].kill()

    def all_done():
        statuses = [http.get(f"{RUNS}/{rid}").json()["status"] for rid in run_ids]
        return statuses if all(s in ("completed", "failed", "cancelled") for s in statuses) else None

    statuses = wait_until(all_done, 90, interval=0.2, what="every run to end")
    assert statuses == ["completed"] * len(run_ids), statuses
    client = api.client(keys[0])
    for i, rid in enumerate(run_ids):
        assert client.task_run.result(rid, api_timeout=30).output.content == f"echo: question {i}"
    events = run_events(database_url, schema)
    assert all(events[rid][1] == 1 for rid in run_ids), events
    rerun = [rid for rid in run_ids if events[rid][0] > 1]
    assert len(rerun) >= 3, f"the killed worker's runs should have run again elsewhere: {events}"
    # The api node executed nothing: it started no scheduler.
    assert "role api" in api.log_text()


@pytest.mark.parametrize("role", ["api", "worker"])
def test_a_split_role_needs_postgres(parallax_bin, tmp_path, role):
    out = subprocess.run(
        [str(parallax_bin), "serve", "--role", role, "--data-dir", str(tmp_path / "data"),
         "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=30, env=clean_env(),
    )
    assert out.returncode != 0
    assert f"--role {role} needs --database-url" in out.stderr, out.stderr


def test_pages_left_in_a_data_dir_index_are_named_at_start_with_postgres(server_factory, parallax_bin, tmp_path):
    """With --database-url the pages searched are PostgreSQL's: pages added to the data
    directory's own index earlier are not lost silently; the server says so at start."""
    page = tmp_path / "notes" / "page.md"
    page.parent.mkdir()
    page.write_text("# Ferry timetable\n\nThe Larkspur ferry leaves at nine.\n")
    srv = server_factory("postgres", start=False)
    added = index_add(parallax_bin, srv.data_dir, str(page.parent))
    assert added.returncode == 0 and "indexed 1 page(s)" in added.stdout, added.stdout + added.stderr
    srv.start()
    srv.wait_for_log("1 page(s) in the local index at", "are not searched", "--database-url")
