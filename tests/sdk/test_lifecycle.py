"""Process lifecycle: start-up output, key bootstrap, graceful shutdown, and SIGKILL durability."""

from __future__ import annotations

import concurrent.futures as cf
import json
import signal
import socket
import subprocess
import threading
import time

import httpx
import pytest

from support import (
    BACKENDS,
    CREATED_KEY_RE,
    LISTEN_RE,
    SLEEP_KEY,
    canon_fields,
    compact,
    new_key,
    read_http_response,
    read_sse,
    wait_until,
)

RUNS = "/v1/tasks/runs"
LEASE = ["--lease-seconds", "5"]


def _post(c: httpx.Client, key: str, payload: dict) -> httpx.Response:
    return c.post(RUNS, content=compact(payload), headers={"x-api-key": key, "content-type": "application/json"})


def _status(c: httpx.Client, key: str, run_id: str) -> str:
    r = c.get(f"{RUNS}/{run_id}", headers={"x-api-key": key})
    assert r.status_code == 200, r.text
    return r.json()["status"]


# --------------------------------------------------------------------------------------
# start-up and operator commands
# --------------------------------------------------------------------------------------


def _cli(srv, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(srv.binary), *args, "--data-dir", str(srv.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keys_created_beside_a_running_server_work_at_once(fresh_server):
    """`parallax keys create` runs while the SQLite server holds its data directory, and the
    running server accepts the new key (its key ring reloads on a miss) as a new tenant."""
    srv = fresh_server("sqlite")
    run = srv.client().task_run.create(input="owned by the first tenant", processor="lite")

    created = _cli(srv, "keys", "create", "--label", "ops")
    assert created.returncode == 0, created.stderr
    new = created.stdout.strip()
    assert new.startswith("px_") and len(new) > 20, created.stdout
    assert new not in created.stderr

    fresh = srv.client(new)
    mine = fresh.task_run.create(input="owned by the new tenant", processor="lite")
    assert fresh.task_run.retrieve(mine.run_id).run_id == mine.run_id
    # A new key is a new tenant: the first tenant's run is invisible to it.
    assert srv.http(new).get(f"{RUNS}/{run.run_id}").status_code == 404

    listed = _cli(srv, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.strip().splitlines()) == len(srv.keys) + 1, listed.stdout
    assert new not in listed.stdout and srv.key not in listed.stdout

    migrated = _cli(srv, "migrate")
    assert migrated.returncode == 0 and "up to date" in migrated.stdout, migrated.stderr
    # Operator commands beside it never touch its runs.
    assert srv.client().task_run.result(run.run_id, api_timeout=30).run.status == "completed"


def test_second_server_on_the_same_data_dir_is_refused(fresh_server):
    srv = fresh_server("sqlite")
    other = subprocess.run(
        [str(srv.binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(srv.data_dir), "--api-key", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode != 0
    assert "another parallax process is using" in other.stderr, other.stderr


def test_stdout_is_exactly_the_listening_line(fresh_server):
    srv = fresh_server("sqlite")
    assert srv.client().task_run.create(input="x", processor="lite").run_id
    assert srv.http(auth=False).get("/healthz").status_code == 200
    assert len(srv.stdout_lines) == 1 and LISTEN_RE.match(srv.stdout_lines[0]), srv.stdout_lines


def test_first_start_without_keys_creates_one(fresh_server):
    srv = fresh_server("sqlite", keys=[])
    line = srv.wait_for_stdout(lambda l: CREATED_KEY_RE.match(l), 10, "the created-key line")
    key = CREATED_KEY_RE.match(line).group(1)
    assert sorted(srv.stdout_lines, key=lambda l: bool(LISTEN_RE.match(l))) == [line, f"parallax listening on {srv.base_url}"], srv.stdout_lines
    client = srv.client(key)
    run = client.task_run.create(input="bootstrap", processor="lite")
    assert client.task_run.result(run.run_id, api_timeout=30).run.status == "completed"
    assert srv.http(new_key()).get(f"{RUNS}/{run.run_id}").status_code == 401

    assert srv.stop() == 0
    srv.start()
    client = srv.client(key)
    assert client.task_run.retrieve(run.run_id).status == "completed"  # same key, same tenant
    assert not any(CREATED_KEY_RE.match(l) for l in srv.stdout_lines), srv.stdout_lines
    assert len(srv.stdout_lines) == 1 and LISTEN_RE.match(srv.stdout_lines[0]), srv.stdout_lines
    assert key not in srv.log_path.read_text("utf-8", "replace"), "the created key was logged"


def test_keys_are_never_logged(fresh_server):
    srv = fresh_server("sqlite", env={"RUST_LOG": "trace"})
    wrong = new_key()
    client = srv.client()
    run = client.task_run.create(input="quiet", processor="lite")
    client.task_run.result(run.run_id, api_timeout=30)
    assert srv.http(wrong).get(f"{RUNS}/{run.run_id}").status_code == 401
    assert srv.http(auth=False, headers={"authorization": f"Bearer {wrong}"}).get(f"{RUNS}/{run.run_id}").status_code == 401
    srv.stop()
    log = srv.log_path.read_text("utf-8", "replace")
    for k in srv.keys + [wrong]:
        assert k not in log, f"API key {k} appears in the server log"
        assert k[8:] not in log, f"API key {k} (without prefix) appears in the server log"


# --------------------------------------------------------------------------------------
# graceful shutdown
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_exits_promptly_and_run_survives(fresh_server, backend):
    # PostgreSQL is shared across sessions: a run left behind there would be claimed by every
    # later test server, so that one is short enough to finish within the test.
    sleep_ms = 60000 if backend == "sqlite" else 6000
    srv = fresh_server(backend, extra_args=LEASE)
    client = srv.client()
    payload = {"processor": "lite", "input": "long haul", "metadata": {SLEEP_KEY: sleep_ms}}
    idem = {"Idempotency-Key": f"graceful-{new_key()}"}
    r = srv.http(headers=idem).post(RUNS, content=compact(payload), headers={"content-type": "application/json"})
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    wait_until(lambda: client.task_run.retrieve(run_id).status == "running", 20, what="the run to start")

    t0 = time.monotonic()
    code = srv.stop(signal.SIGTERM, timeout=15)
    elapsed = time.monotonic() - t0
    assert code == 0, f"exit code {code} after SIGTERM\n{srv.log_tail()}"
    assert elapsed < 5, f"took {elapsed:.1f}s to exit after SIGTERM"

    srv.start()
    client = srv.client()
    got = client.task_run.retrieve(run_id)
    assert got.status in ("queued", "running") and got.is_active and got.error is None, got
    assert canon_fields(srv.http().get(f"{RUNS}/{run_id}/input").json()) == canon_fields(payload)
    # the idempotency record survived too: a retry does not start a second run
    again = srv.http(headers=idem).post(RUNS, content=compact(payload), headers={"content-type": "application/json"})
    assert again.status_code == 202 and again.json()["run_id"] == run_id, again.text
    if backend == "postgres":
        res = client.task_run.result(run_id, api_timeout=60)
        assert res.run.status == "completed" and res.output.content == "echo: long haul"


def test_sigterm_with_open_long_poll_and_stream(fresh_server):
    """Clients blocked on /result and /events must not hold the process up: both are answered
    (the long-poll with a 503 that says to retry, the stream by its end) and it exits at once."""
    srv = fresh_server("sqlite", extra_args=LEASE)
    client = srv.client()
    run = client.task_run.create(
        input="held open", processor="lite", enable_events=True, metadata={SLEEP_KEY: 60000}
    )
    wait_until(lambda: client.task_run.retrieve(run.run_id).status == "running", 20, what="the run to start")
    polling, streaming = threading.Event(), threading.Event()
    outcomes: dict = {}

    def long_poll():
        # A long-poll says nothing until it ends, so it goes out pipelined behind a /healthz
        # probe on one connection: the server reads both at once and starts the long-poll in
        # the same step as it answers the probe, so the probe's answer means the long-poll is
        # being handled.
        url = httpx.URL(srv.base_url)
        with socket.create_connection((url.host, url.port), timeout=30) as sock:
            sock.sendall(
                f"GET /healthz HTTP/1.1\r\nhost: {url.host}\r\n\r\n"
                f"GET {RUNS}/{run.run_id}/result HTTP/1.1\r\nhost: {url.host}\r\nx-api-key: {srv.key}\r\n\r\n".encode()
            )
            probe = read_http_response(sock)
            outcomes["probe"] = probe
            polling.set()
            try:
                outcomes["result"] = read_http_response(sock)
            except OSError as exc:
                outcomes["result"] = exc

    def stream():
        with httpx.Client(base_url=srv.base_url, trust_env=False, timeout=120) as c:
            with c.stream("GET", f"{RUNS}/{run.run_id}/events", headers={"x-api-key": srv.key}) as r:
                try:
                    for _ in read_sse(r, on_frame=lambda _: streaming.set()):
                        pass
                    outcomes["events"] = r.status_code
                except httpx.HTTPError as exc:
                    outcomes["events"] = exc

    threads = [threading.Thread(target=long_poll, daemon=True), threading.Thread(target=stream, daemon=True)]
    for t in threads:
        t.start()
    assert polling.wait(10) and outcomes["probe"] is not None and outcomes["probe"][0] == 200, outcomes
    assert streaming.wait(10), "the event stream sent nothing"
    t0 = time.monotonic()
    code = srv.stop(signal.SIGTERM, timeout=15)
    elapsed = time.monotonic() - t0
    assert code == 0, f"exit code {code}\n{srv.log_tail()}"
    assert elapsed < 5, f"took {elapsed:.1f}s to exit with open long-poll/SSE clients"
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    result = outcomes["result"]
    assert isinstance(result, tuple) and result[0] == 503, f"the open long-poll got {result!r}, not a 503 to retry"
    assert "retry" in json.loads(result[2])["error"]["message"], result
    assert outcomes["events"] == 200, outcomes


# --------------------------------------------------------------------------------------
# SIGKILL durability
# --------------------------------------------------------------------------------------


def _payload(thread: int, n: int) -> dict:
    payload = {
        "processor": ["lite", "base", "core"][n % 3],
        "input": f"kill test {thread}-{n} \u00e9" if n % 2 else {"thread": thread, "n": n, "f": 1.0, "tags": ["x", "y"]},
        "metadata": {"thread": thread, "n": n},
    }
    if n < 2:
        payload["metadata"][SLEEP_KEY] = 2500
    if n % 5 == 4:
        payload["task_spec"] = {"output_schema": {"type": "json", "json_schema": {"type": "object", "properties": {}}}}
    if n % 7 == 3:
        payload["source_policy"] = {"include_domains": ["example.com"], "after_date": "2024-01-01"}
    return payload


def test_sigkill_loses_no_acknowledged_run(fresh_server):
    srv = fresh_server("sqlite", extra_args=LEASE)
    key = srv.key
    acked: dict = {}
    unexpected: list = []
    lock = threading.Lock()
    stop = threading.Event()
    n_threads = 6

    def creator(t: int):
        with httpx.Client(base_url=srv.base_url, trust_env=False, timeout=30) as c:
            n = 0
            while not stop.is_set():
                payload = _payload(t, n)
                try:
                    r = _post(c, key, payload)
                except httpx.TransportError:
                    return  # the server is gone; this request was never acknowledged
                with lock:
                    if r.status_code == 202:
                        acked[r.json()["run_id"]] = payload
                    else:
                        unexpected.append((r.status_code, r.text[:200]))
                n += 1

    with httpx.Client(base_url=srv.base_url, trust_env=False, timeout=30) as probe:
        sentinel_payload = {"processor": "lite", "input": "sentinel", "metadata": {SLEEP_KEY: 2500}}
        r = _post(probe, key, sentinel_payload)
        assert r.status_code == 202
        sentinel = r.json()["run_id"]
        acked[sentinel] = sentinel_payload

        threads = [threading.Thread(target=creator, args=(t,), daemon=True) for t in range(n_threads)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        wait_until(lambda: _status(probe, key, sentinel) == "running", 20, what="the sentinel to run")
        wait_until(lambda: len(acked) > 50 and time.monotonic() - t0 > 1.5, 20, what="a stream of acknowledged creates")
        with lock:
            sleepers = [rid for rid, p in acked.items() if SLEEP_KEY in p["metadata"]]
        running_at_kill = [rid for rid in sleepers if _status(probe, key, rid) == "running"]
        assert sentinel in running_at_kill
    srv.kill()  # SIGKILL mid-stream
    stop.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert not unexpected, unexpected[:5]
    print(f"{len(acked)} runs acknowledged before SIGKILL, {len(running_at_kill)} of them running")

    srv.start()
    http = srv.http()
    client = srv.client()

    def check(item):
        run_id, payload = item
        r = http.get(f"{RUNS}/{run_id}")
        assert r.status_code == 200, (run_id, r.status_code, r.text)
        inp = http.get(f"{RUNS}/{run_id}/input")
        assert inp.status_code == 200, (run_id, inp.text)
        assert canon_fields(inp.json()) == canon_fields(payload), (run_id, inp.text, payload)
        res = client.task_run.result(run_id, api_timeout=60)
        assert res.run.status == "completed", (run_id, res.run)
        return run_id

    with cf.ThreadPoolExecutor(8) as pool:
        done = list(pool.map(check, list(acked.items())))
    assert len(done) == len(acked)
    for rid in running_at_kill:
        assert client.task_run.retrieve(rid).status == "completed"
