"""What the official SDK's retry and timeout machinery expects of a server, on both backends.

- `x-should-retry: false` on answers the same request will always get (here: an
  Idempotency-Key reused with another body, and ordinary 4xx), so an SDK with its default
  retries sends the request once, not three times. (`support.assert_error` checks the header
  on every error answer of the suite.)
- The SDK announces its read timeout in `x-stainless-read-timeout`; a long-poll answers 408
  before it, and a quiet stream sends keep-alives often enough for it.
- `POST …/groups/{id}/runs?refresh_status=` is a query parameter.
"""

from __future__ import annotations

import time
import uuid

import httpx
import parallel
import pytest

from support import SLEEP_KEY, assert_error, collect_events, compact, wait_until

RUNS = "/v1/tasks/runs"
GROUPS = "/v1/tasks/groups"


def counting_client(server, **kwargs):
    """The SDK with its default retries, and a list of the requests it really sent."""
    sent: list = []
    http = httpx.Client(
        trust_env=False,
        timeout=httpx.Timeout(60.0, connect=5.0),
        event_hooks={"request": [lambda request: sent.append((request.method, request.url.path))]},
    )
    client = parallel.Parallel(
        api_key=server.key, base_url=server.base_url, http_client=http, _strict_response_validation=True, **kwargs
    )
    return client, sent


def test_reused_idempotency_key_is_not_retried(server):
    client, sent = counting_client(server)  # max_retries: the SDK default (2)
    key = str(uuid.uuid4())
    client.task_run.create(input="one", processor="lite", extra_headers={"Idempotency-Key": key})
    sent.clear()
    with pytest.raises(parallel.ConflictError) as ei:
        client.task_run.create(input="two", processor="lite", extra_headers={"Idempotency-Key": key})
    assert_error(ei.value, 409)
    assert ei.value.response.headers["x-should-retry"] == "false"
    assert sent == [("POST", RUNS)], sent


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.task_run.create(input="x", processor="no-such-processor"),  # 403
        lambda c: c.task_run.retrieve("trun_" + "0" * 32),  # 404
        lambda c: c.task_run.create(input="x", processor="lite", metadata={"k" * 17: "v"}),  # 422
    ],
    ids=["403", "404", "422"],
)
def test_final_refusals_are_sent_once(server, call):
    client, sent = counting_client(server)
    with pytest.raises(parallel.APIStatusError) as ei:
        call(client)
    assert ei.value.response.headers["x-should-retry"] == "false"
    assert len(sent) == 1, sent


def test_result_answers_before_the_sdk_read_timeout(server):
    """Without `?timeout`, the long-poll would wait 600 s; the client reads for 3 s only, and
    gets the 408 before it gives up, not a read timeout."""
    client = server.client(timeout=3.0)
    run = client.task_run.create(input="slow", processor="lite", metadata={SLEEP_KEY: 20_000})
    started = time.monotonic()
    with pytest.raises(parallel.APIStatusError) as ei:
        client.task_run.result(run.run_id)
    elapsed = time.monotonic() - started
    assert ei.value.status_code == 408, ei.value
    assert 2.0 <= elapsed < 3.0, elapsed
    assert_error(ei.value, 408)
    # The header is what decides: a raw request without it waits its full `timeout`.
    http = server.http()
    started = time.monotonic()
    r = http.get(f"{RUNS}/{run.run_id}/result", params={"timeout": 1}, headers={"x-stainless-read-timeout": "60"})
    assert r.status_code == 408 and time.monotonic() - started >= 0.9


def test_quiet_streams_keep_a_short_read_timeout_alive(server):
    """A client that reads for at most 1 s streams a run whose events are 2 s apart: the
    keep-alives come at half its announced read timeout."""
    client = server.client(timeout=httpx.Timeout(1.0, connect=5.0))
    run = client.task_run.create(input="gaps", processor="lite", enable_events=True, metadata={SLEEP_KEY: 8_000})
    events = collect_events(client.task_run.events(run.run_id))
    assert events[-1].type == "task_run.state" and events[-1].run.status == "completed"
    with server.http().stream(
        "GET", f"/v1/tasks/runs/{run.run_id}/events", headers={"x-stainless-read-timeout": "1"}
    ) as resp:
        assert resp.status_code == 200
        assert b"".join(resp.iter_bytes()).count(b"event:") == len(events)


def test_refresh_status_is_a_query_parameter(server):
    client = server.client()
    group = client.task_group.create()
    for refresh in (True, False):
        added = client.task_group.add_runs(
            group.task_group_id, inputs=[{"input": "r", "processor": "lite"}], refresh_status=refresh
        )
        assert len(added.run_ids) == 1
    http = server.http()
    body = compact({"inputs": [{"input": "r", "processor": "lite"}]})
    r = http.post(
        f"{GROUPS}/{group.task_group_id}/runs",
        params={"refresh_status": "maybe"},
        content=body,
        headers={"content-type": "application/json"},
    )
    assert assert_error(r, 422)["pointer"] == "/query/refresh_status"
    wait_until(lambda: not client.task_group.retrieve(group.task_group_id).status.is_active, 30, what="group idle")
    assert client.task_group.retrieve(group.task_group_id).status.num_task_runs == 2
