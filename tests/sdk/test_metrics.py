"""`GET /metrics` and `--log-format json`, against real `parallax serve` processes on both
backends.

Every scrape is parsed by the Prometheus project's own Python parser
(`prometheus_client.parser.text_string_to_metric_families`, and its strict OpenMetrics parser
for the OpenMetrics spelling), and every assertion is on a change between two scrapes made
by requests this test sent through the official SDK: a counter that did not move, or moved
under the raw path instead of the route template, fails.
"""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import parallel
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from support import BACKENDS, FAIL_KEY, SLEEP_KEY, TERMINAL, assert_error, clean_env, new_key, wait_until

RUN_TEMPLATE = "/v1/tasks/runs/{run_id}"
NO_SUCH_RUN = "trun_" + "0" * 32
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


class Scrape:
    """One parsed scrape: samples by name and labels."""

    def __init__(self, text: str, families: list):
        self.text = text
        self.families = {f.name: f for f in families}
        self.samples = [s for f in families for s in f.samples]

    def value(self, name: str, **labels) -> float:
        """The sample `name` whose labels are exactly `labels` (0 when absent)."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else 0.0

    def total(self, name: str, **labels) -> float:
        """The sum of the samples `name` whose labels include `labels`."""
        return sum(
            s.value for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def label_values(self, name: str, label: str) -> set:
        return {s.labels[label] for s in self.samples if s.name == name and label in s.labels}


def scrape(srv, accept: Optional[str] = None) -> Scrape:
    """`GET /metrics` without an API key, parsed."""
    headers = {"accept": accept} if accept else {}
    r = srv.http(auth=False).get("/metrics", headers=headers)
    assert r.status_code == 200, r.text[:500]
    if accept and "openmetrics" in accept:
        assert r.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0"), r.headers
        return Scrape(r.text, list(parse_openmetrics(r.text)))
    assert r.headers["content-type"] == PROMETHEUS_TEXT, r.headers
    return Scrape(r.text, list(text_string_to_metric_families(r.text)))


def finish(client: parallel.Parallel, run_id: str, timeout: float = 30.0):
    return wait_until(
        lambda: (lambda r: r if r.status in TERMINAL else None)(client.task_run.retrieve(run_id)),
        timeout,
        interval=0.05,
        what=f"run {run_id} to finish",
    )


def tenants_of(srv) -> list:
    """The server's tenant ids, from `parallax keys list` beside the running server."""
    cmd = [str(srv.binary), "keys", "list", "--data-dir", str(srv.data_dir)]
    if srv.database_url:
        cmd += ["--database-url", srv.database_url]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    tenants = [line.split("\t")[0] for line in proc.stdout.splitlines() if line.strip()]
    assert len(tenants) >= 2, proc.stdout
    return tenants


class Page(ThreadingHTTPServer):
    """A loopback origin: `/page` is an HTML page, anything else 404; a POST is answered
    from `post_statuses` (a webhook receiver)."""

    HTML = (
        b"<!doctype html><html><head><title>Metrics origin</title></head><body><article>"
        b"<h1>The Varnholt loom</h1><p>The Varnholt loom was patented in 1874 by Ida Varnholt, "
        b"whose shuttle guide let a single weaver keep two warps in tension.</p></article></body></html>"
    )

    def __init__(self):
        page = self
        # Webhook receiver: the statuses of the next POSTs, then 204.
        self.post_statuses: list = []
        self.posts = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", "0")))
                page.posts += 1
                status = page.post_statuses.pop(0) if page.post_statuses else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self):
                found = self.path == "/page"
                body = page.HTML if found else b"not here"
                self.send_response(200 if found else 404)
                self.send_header("content-type", "text/html; charset=utf-8" if found else "text/plain")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def close(self):
        self.shutdown()
        self.server_close()


class DuplicateKey(Exception):
    pass


def unique_keys(pairs: list) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


@pytest.fixture
def page():
    p = Page()
    yield p
    p.close()


# --------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_not_raw_path(server):
    client = server.client()
    before = scrape(server)
    for _ in range(2):
        with pytest.raises(parallel.NotFoundError):
            client.task_run.retrieve(NO_SUCH_RUN)
    other = f"/v1/no-such-thing/{NO_SUCH_RUN}"
    assert_error(server.http().get(other), 404)
    with pytest.raises(parallel.AuthenticationError):
        server.client(key="wrong-" + new_key()).task_run.retrieve(NO_SUCH_RUN)
    after = scrape(server)

    requests = "parallax_http_requests_total"
    run_404 = dict(route=RUN_TEMPLATE, method="GET", status="404")
    assert after.value(requests, **run_404) - before.value(requests, **run_404) == 2, after.text
    run_401 = dict(route=RUN_TEMPLATE, method="GET", status="401")
    assert after.value(requests, **run_401) - before.value(requests, **run_401) == 1
    unmatched = dict(route="unmatched", method="GET", status="404")
    assert after.value(requests, **unmatched) - before.value(requests, **unmatched) == 1
    # The latency histogram saw the same three requests on that route, in its buckets too.
    count = "parallax_http_request_duration_seconds_count"
    route = dict(route=RUN_TEMPLATE, method="GET")
    assert after.value(count, **route) - before.value(count, **route) == 3
    inf = "parallax_http_request_duration_seconds_bucket"
    assert after.value(inf, le="+Inf", **route) == after.value(count, **route)
    assert after.value("parallax_http_request_duration_seconds_sum", **route) > before.value(
        "parallax_http_request_duration_seconds_sum", **route
    )
    # The scrape before this one was counted too, under its own route.
    assert after.value(requests, route="/metrics", method="GET", status="200") >= 1
    # Never a raw path, so never an id, in a label.
    routes = after.label_values(requests, "route")
    assert NO_SUCH_RUN not in after.text and "/v1/no-such-thing" not in after.text, routes
    assert all(r == "unmatched" or r.startswith("/") for r in routes), routes


@pytest.mark.parametrize("backend", BACKENDS)
def test_runs_queue_claims_and_commits(fresh_server, backend):
    """One run slot: a sleeping run holds it, a second waits in the queue; the gauges show
    both, the finished counter and the claim latency count them once they end, and the store
    commit histogram of this backend (and only it) grew."""
    srv = fresh_server(backend, extra_args=["--concurrency", "1"])
    client = srv.client()
    before = scrape(srv)
    assert before.value("parallax_queue_depth") == 0, before.text
    assert before.value("parallax_runs_active", processor="lite", state="queued") == 0

    slow = client.task_run.create(input="hold the slot", processor="lite", metadata={SLEEP_KEY: 3000})
    wait_until(lambda: client.task_run.retrieve(slow.run_id).status == "running", 15, what="the slow run to start")
    waiting = client.task_run.create(input="wait", processor="base", metadata={FAIL_KEY: "as asked"})
    during = scrape(srv)
    assert during.value("parallax_runs_active", processor="lite", state="running") == 1, during.text
    assert during.value("parallax_runs_active", processor="base", state="queued") == 1, during.text
    assert during.value("parallax_queue_depth") == 1

    assert finish(client, slow.run_id).status == "completed"
    assert finish(client, waiting.run_id).status == "failed"
    after = scrape(srv)
    finished = "parallax_runs_finished_total"
    assert after.value(finished, processor="lite", status="completed") - before.value(
        finished, processor="lite", status="completed"
    ) == 1, after.text
    assert after.value(finished, processor="base", status="failed") - before.value(
        finished, processor="base", status="failed"
    ) == 1
    assert after.value("parallax_queue_depth") == 0
    assert after.value("parallax_runs_active", processor="lite", state="running") == 0
    claims = "parallax_run_claim_latency_seconds_count"
    assert after.value(claims) - before.value(claims) == 2
    # The queued run waited for the slow one: over a second between its creation and claim.
    over_1s = after.value(claims) - after.value("parallax_run_claim_latency_seconds_bucket", le="1.0")
    assert over_1s >= 1, after.text

    commits = "parallax_store_commit_duration_seconds_count"
    assert after.value(commits, backend=backend) - before.value(commits, backend=backend) >= 4, after.text
    other = "postgres" if backend == "sqlite" else "sqlite"
    assert after.total(commits, backend=other) == 0

    # Aggregate numbers only: no tenant, key or run id anywhere in the scrape.
    for secret in [*srv.keys, *tenants_of(srv), slow.run_id, waiting.run_id]:
        assert secret not in after.text, secret


def test_fetches_by_outcome_cache_hits_and_extraction(server, fresh_server, page):
    """A loopback URL is refused by a default server; one allowed to fetch it reads it (ok,
    extracted as HTML), answers it again from the fetch cache, and counts a 404 as http_error."""
    fetches = "parallax_fetches_total"
    before = scrape(server)
    refused = server.client().extract(urls=[page.url("/page")])
    assert refused.errors and refused.errors[0].error_type == "ssrf_refused", refused
    after = scrape(server)
    assert after.value(fetches, outcome="refused_private") - before.value(fetches, outcome="refused_private") == 1
    assert after.value(fetches, outcome="ok") == before.value(fetches, outcome="ok")

    srv = fresh_server("sqlite", extra_args=["--allow-private-fetch"])
    client = srv.client()
    before = scrape(srv)
    for _ in range(2):
        res = client.extract(urls=[page.url("/page")], advanced_settings={"full_content": True})
        assert res.results and "Varnholt" in (res.results[0].full_content or ""), res
    missing = client.extract(urls=[page.url("/missing")])
    assert missing.errors and missing.errors[0].error_type == "http_error", missing
    after = scrape(srv)
    assert after.value(fetches, outcome="ok") - before.value(fetches, outcome="ok") == 1, after.text
    assert after.value(fetches, outcome="http_error") - before.value(fetches, outcome="http_error") == 1
    hits = "parallax_fetch_cache_hits_total"
    assert after.value(hits) - before.value(hits) >= 1
    extraction = "parallax_extraction_duration_seconds_count"
    assert after.value(extraction, content="html") - before.value(extraction, content="html") == 1
    assert page.url("/page") not in after.text and "127.0.0.1" not in after.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_webhook_deliveries_and_retries(fresh_server, page, backend):
    """A receiver that answers 500 once then 204: one retry, then one delivery."""
    srv = fresh_server(backend, extra_args=["--allow-private-fetch", "--webhook-retry-seconds", "0.05"])
    page.post_statuses = [500]
    client = srv.client()
    before = scrape(srv)
    run = client.task_run.create(
        input="hook", processor="lite", webhook={"url": page.url("/hook"), "event_types": ["task_run.status"]}
    )
    finish(client, run.run_id)
    wait_until(lambda: page.posts >= 2, 15, what="a failed attempt and its retry")
    deliveries = "parallax_webhook_deliveries_total"
    after = wait_until(
        lambda: (lambda m: m if m.value(deliveries, outcome="delivered") > before.value(deliveries, outcome="delivered") else None)(
            scrape(srv)
        ),
        10,
        what="the delivery to be counted",
    )
    assert after.value(deliveries, outcome="delivered") - before.value(deliveries, outcome="delivered") == 1
    assert after.value(deliveries, outcome="gave_up") == before.value(deliveries, outcome="gave_up") == 0
    retries = "parallax_webhook_retries_total"
    assert after.value(retries) - before.value(retries) == 1, after.text
    assert page.url("/hook") not in after.text


def test_openmetrics_on_request(server):
    """A scraper asking for OpenMetrics gets it, valid to the strict parser, with the same counts."""
    server.client().task_run.create(input="counted", processor="lite")
    text = scrape(server)
    openmetrics = scrape(server, accept="application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert openmetrics.text.rstrip().endswith("# EOF")
    requests = "parallax_http_requests_total"
    created = dict(route="/v1/tasks/runs", method="POST", status="202")
    assert openmetrics.value(requests, **created) == text.value(requests, **created) >= 1
    assert openmetrics.families["parallax_http_requests"].type == "counter"


def test_metrics_can_be_turned_off(fresh_server):
    srv = fresh_server("sqlite", extra_args=["--metrics=false"])
    r = srv.http(auth=False).get("/metrics")
    assert_error(r, 404)
    assert srv.http().get("/healthz").status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_json_logs_are_json_and_never_hold_a_key(fresh_server, backend):
    bad_key = "wrong-" + new_key()
    srv = fresh_server(backend, extra_args=["--log-format", "json"], env={"RUST_LOG": "debug"})
    client = srv.client()
    run = client.task_run.create(input="log me", processor="lite", metadata={FAIL_KEY: "logged failure"})
    assert finish(client, run.run_id).status == "failed"
    with pytest.raises(parallel.AuthenticationError):
        srv.client(key=bad_key).task_run.retrieve(run.run_id)
    assert_error(srv.http(key=bad_key).get(f"/v1/tasks/runs/{run.run_id}/result"), 401)
    srv.stop()

    text = srv.log_text()
    # The harness marks each start with a `=====` line of its own; everything else is the server's.
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("===== start #")]
    assert len(lines) >= 3, text
    records = []
    for line in lines:
        try:
            # A key twice in one object (a field named like the message) loses one of them
            # in most log collectors: refused.
            records.append(json.loads(line, object_pairs_hook=unique_keys))
        except json.JSONDecodeError:
            pytest.fail(f"a stderr line is not JSON: {line!r}")
        except DuplicateKey as e:
            pytest.fail(f"a stderr line has the key {e} twice: {line!r}")
    for record in records:
        assert isinstance(record, dict) and {"timestamp", "level", "fields"} <= set(record), record
    failed = [r["fields"] for r in records if r["fields"].get("message") == "run failed"]
    assert [f.get("run_id") for f in failed] == [run.run_id], records[-10:]
    assert failed[0].get("reason") == "logged failure", failed
    for key in [*srv.keys, bad_key]:
        assert key not in text, "an API key is in the log"
