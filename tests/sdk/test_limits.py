"""Per-tenant limits, set with `parallax keys create|limit` beside a running server, on both
backends: a request rate (429 with Retry-After once a minute's allowance is spent, another
tenant untouched) and a cap on queued plus running task runs (429 with Retry-After, nothing
created). Changes reach the running server within its limits TTL (10 s)."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import parallel
import pytest

from support import wait_until

LIMITS_TTL = 10  # parallax_server::LIMITS_TTL


def cli(srv, *args: str) -> subprocess.CompletedProcess:
    where = ["--database-url", srv.database_url] if srv.database_url else ["--data-dir", str(srv.data_dir)]
    return subprocess.run([str(srv.binary), *args, *where], capture_output=True, text=True, timeout=60)


def new_tenant(srv, *limits: str) -> tuple:
    """A new key with `limits` (flags of `keys create`): (key, tenant id)."""
    created = cli(srv, "keys", "create", "--label", "limits", *limits)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    tenant = next(l.split("new tenant ")[1].split(";")[0] for l in created.stderr.splitlines() if "new tenant" in l)
    return key, tenant


def assert_429(response, retry_after_at_most: int, *words: str):
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["ref_id"], body
    for word in words:
        assert word in body["error"]["message"], body
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= retry_after_at_most, response.headers


def test_a_tenant_past_its_request_rate_gets_429_with_retry_after(server):
    key, tenant = new_tenant(server, "--requests-per-minute", "3")
    limited = server.http(key)
    other = server.http()
    for _ in range(3):
        assert limited.get("/v1/tasks/runs/trun_nope").status_code == 404
    refused = limited.get("/v1/tasks/runs/trun_nope")
    # Three a minute: a token every 20 s.
    assert_429(refused, 20, "3 requests a minute")
    # Another tenant is not slowed, and unauthenticated requests are 401 as before.
    for _ in range(10):
        assert other.get("/v1/tasks/runs/trun_nope").status_code == 404
    assert server.http(auth=False).get("/v1/tasks/runs/trun_nope").status_code == 401

    # The official SDK (its retries off here) sees a RateLimitError.
    with pytest.raises(parallel.RateLimitError):
        server.client(key).task_run.retrieve("trun_nope")

    # Lifting the limit reaches the running server within its TTL.
    lifted = cli(server, "keys", "limit", tenant, "--requests-per-minute", "none")
    assert lifted.returncode == 0 and "requests_per_minute=none" in lifted.stdout, lifted.stderr
    wait_until(lambda: limited.get("/v1/tasks/runs/trun_nope").status_code == 404,
               timeout=LIMITS_TTL + 5, interval=0.5, what="the lifted limit to apply")


def test_a_tenant_at_its_run_quota_gets_429_and_nothing_is_created(server):
    key, tenant = new_tenant(server, "--max-active-runs", "2")
    client = server.client(key)
    http = server.http(key)
    slow = {"metadata": {"scripted_sleep": 1500}}
    first = client.task_run.create(input="one", processor="lite", **slow)
    client.task_run.create(input="two", processor="lite", **slow)
    refused = http.post("/v1/tasks/runs", json={"input": "three", "processor": "lite"})
    assert_429(refused, 5, "at most 2 task runs", "has 2")

    group = client.task_group.create()
    too_many = http.post(f"/v1/tasks/groups/{group.task_group_id}/runs",
                         json={"inputs": [{"input": str(i), "processor": "lite"} for i in range(3)]})
    assert_429(too_many, 5, "adds 3", "send fewer")
    # Nothing of the refused adds was created.
    assert client.task_group.retrieve(group.task_group_id).status.num_task_runs == 0

    # Once the runs end, there is room again.
    assert client.task_run.result(first.run_id, api_timeout=60).run.status == "completed"
    wait_until(lambda: http.post("/v1/tasks/runs", json={"input": "later", "processor": "lite"}).status_code == 202,
               timeout=30, interval=0.3, what="room under the quota")

    listed = cli(server, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    mine = [l for l in listed.stdout.splitlines() if l.startswith(tenant + "\t")]
    assert mine and mine[0].endswith("requests_per_minute=none max_active_runs=2"), listed.stdout


def test_limits_commands_refuse_bad_input_clearly(server):
    _, tenant = new_tenant(server)
    bad = cli(server, "keys", "limit", tenant, "--max-active-runs", "-1")
    assert bad.returncode == 2 and "none" in bad.stderr, bad.stderr
    nobody = cli(server, "keys", "limit", "tenant_nobody", "--max-active-runs", "3")
    assert nobody.returncode != 0 and "no tenant" in nobody.stderr, nobody.stderr
    # A limit left out keeps its value.
    assert cli(server, "keys", "limit", tenant, "--max-active-runs", "7").returncode == 0
    kept = cli(server, "keys", "limit", tenant, "--requests-per-minute", "100")
    assert "requests_per_minute=100 max_active_runs=7" in kept.stdout, kept.stdout


def _raw_post(srv, key: str, declared: int, sent: bytes, close: bool = False) -> tuple:
    """POSTs a run whose headers declare `declared` body bytes but sends only `sent` (then
    sends nothing more, reading until the server closes): (status line, headers, body, seconds
    to answer). `close` asks the server to close after answering."""
    host, port = srv.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = (f"POST /v1/tasks/runs HTTP/1.1\r\nHost: {host}\r\nx-api-key: {key}\r\n"
                f"content-type: application/json\r\ncontent-length: {declared}\r\n"
                + ("connection: close\r\n" if close else "") + "\r\n")
        started = time.monotonic()
        sock.sendall(head.encode() + sent)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        took = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    return lines[0], headers, body, took


def test_a_client_that_trickles_its_body_gets_408_and_is_disconnected(fresh_server):
    srv = fresh_server("sqlite", extra_args=["--body-timeout-seconds", "1"])
    status, headers, body, took = _raw_post(srv, srv.key, declared=100, sent=b'{"input": "x"')
    assert status.startswith("HTTP/1.1 408"), (status, body)
    assert headers.get("connection") == "close", headers
    error = json.loads(body[body.index(b"{"):body.rindex(b"}") + 1])
    assert error["type"] == "error" and "within 1 s" in error["error"]["message"], error
    # Answered at the deadline, not at the socket's own timeout; the server closed the socket
    # (the read above ended).
    assert 0.9 <= took < 5, took
    # A client that sends its body at once is unaffected.
    whole = b'{"input": "fine", "processor": "lite"}'
    status, _, body, _ = _raw_post(srv, srv.key, declared=len(whole), sent=whole, close=True)
    assert status.startswith("HTTP/1.1 202"), (status, body)


def test_the_sdk_waits_out_retry_after_and_gets_through(server):
    """The README's promise: a client at its rate limit that lets the SDK retry (its default)
    waits the `Retry-After` and is answered, not refused."""
    key, _ = new_tenant(server, "--requests-per-minute", "60")
    http = server.http(key)
    for _ in range(60):
        assert http.get("/v1/tasks/runs/trun_nope").status_code == 404
    refused = http.get("/v1/tasks/runs/trun_nope")
    assert_429(refused, 1)
    retrying = server.client(key).with_options(max_retries=2)
    started = time.monotonic()
    # Not a RateLimitError: the SDK waited a token's worth (1 s) and got the real answer.
    with pytest.raises(parallel.NotFoundError):
        retrying.task_run.retrieve("trun_nope")
    assert time.monotonic() - started >= 0.5
