"""Webhooks of task runs: signed (Standard Webhooks), retried, durable deliveries of
`task_run.status`, judged by a loopback receiver written here.

The receiver records every request (method, path, headers, raw body) and answers from a
script (e.g. 500 then 200). Every delivery's signature is verified with the tenant's secret
as `parallax keys list` prints it; nothing here trusts the server's own signing code.

Servers that must reach the loopback receiver run with `--allow-private-fetch`; all of them
with `--webhook-retry-seconds 0.2` so retries come quickly.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import json
import re
import socket
import subprocess
import threading
import time

import parallel
import pytest
from parallel.types import TaskRun

from support import BACKENDS, FAIL_KEY, TERMINAL, assert_error, canon_fields, compact, wait_until

RUNS = "/v1/tasks/runs"
RETRY = 0.2  # --webhook-retry-seconds of every server here
HOOK_ARGS = ["--webhook-retry-seconds", str(RETRY)]
LOG_INFO = {"RUST_LOG": "info"}  # the failed and given-up attempts the tests read
PRIVATE = ["--allow-private-fetch"] + HOOK_ARGS
EVENT = "task_run.status"
# How long "nothing more arrives" is watched for. A negative needs watching: the server's
# delivery loop looks for due deliveries every 0.5 s (its fixed tick), so an extra attempt
# that is due at once (a second outbox row, a 2xx taken for a failure and retried RETRY s
# later) is made within two ticks. What the server decided is checked in its log as well
# (`assert_quiet`), which no waiting can miss.
QUIET = 1.0
FAILED = "webhook attempt failed"
GAVE_UP = "webhook delivery given up"


# --------------------------------------------------------------------------------------
# the receiver
# --------------------------------------------------------------------------------------


class Hit:
    """One request the receiver got."""

    def __init__(self, method: str, path: str, headers: list, body: bytes, status: int):
        self.method = method
        self.path = path
        self.header_list = headers  # [(name, value)] as sent
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.status = status  # what the receiver answered
        self.wall = time.time()
        self.mono = time.monotonic()

    def header_values(self, name: str) -> list:
        return [v for k, v in self.header_list if k.lower() == name]

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Hit({self.method} {self.path} -> {self.status}, id={self.headers.get('webhook-id')!r}, {self.body[:100]!r})"


class Receiver:
    """A loopback HTTP server that records requests and answers the n-th one with
    script[n] (an int status, or (status, extra headers)); 200 once the script is used up."""

    def __init__(self, port: int = 0, script=()):
        self.script = list(script)
        self.hits: list = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                body = self._read_body()
                with receiver._cond:
                    n = len(receiver.hits)
                    answer = receiver.script[n] if n < len(receiver.script) else 200
                    status, extra = answer if isinstance(answer, tuple) else (answer, {})
                    receiver.hits.append(Hit(self.command, self.path, list(self.headers.items()), body, status))
                    receiver._cond.notify_all()
                payload = b"ok" if 200 <= status < 300 else b"no"
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(payload)))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True

            def _read_body(self) -> bytes:
                if "chunked" in self.headers.get("transfer-encoding", "").lower():
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

            def log_message(self, *args):  # quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def wait_for(self, n: int, timeout: float, what: str = "") -> list:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.hits) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"receiver got {len(self.hits)} of {n} requests within {timeout}s {what}: {self.hits}")
                self._cond.wait(remaining)
            return list(self.hits)

    def snapshot(self) -> list:
        with self._cond:
            return list(self.hits)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    made: list = []

    def make(**kw) -> Receiver:
        r = Receiver(**kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------------------
# secrets and signatures (Standard Webhooks), computed here
# --------------------------------------------------------------------------------------


def _cli(srv, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(srv.binary), *args, "--data-dir", str(srv.data_dir)]
    if srv.database_url:
        cmd += ["--database-url", srv.database_url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def key_prefix(api_key: str) -> str:
    return "sha256:" + hashlib.sha256(api_key.encode()).hexdigest()[:12]


def list_keys(srv) -> list:
    """`parallax keys list` as [(tenant_id, key hash column, secret)] (its fourth column, the
    tenant's limits, is tested in test_limits.py)."""
    out = _cli(srv, "keys", "list")
    assert out.returncode == 0, out.stderr
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        assert len(parts) == 4, f"`keys list` line is not <tenant>\\t<hash>\\t<secret>\\t<limits>: {line!r}"
        rows.append(tuple(parts[:3]))
    return rows


def secret_of(srv, api_key: str) -> str:
    rows = [r for r in list_keys(srv) if r[1].startswith(key_prefix(api_key))]
    assert len(rows) == 1, f"no single `keys list` line for {key_prefix(api_key)}: {list_keys(srv)}"
    secret = rows[0][2]
    assert secret.startswith("whsec_"), secret
    assert len(base64.b64decode(secret[len("whsec_"):], validate=True)) >= 16, secret
    return secret


def sign(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_ok(hit: Hit, secret: str) -> bool:
    """Standard Webhooks: the header is a space-separated list of versioned signatures."""
    want = sign(secret, hit.headers["webhook-id"], hit.headers["webhook-timestamp"], hit.body)
    return any(hmac.compare_digest(sig, want) for sig in hit.headers.get("webhook-signature", "").split(" "))


def test_verifier_matches_the_standard_webhooks_example():
    """The verifier above against the Standard Webhooks specification's own example (so a
    wrong verifier cannot pass or fail the server tests)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}') == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def assert_delivery(hit: Hit, secret: str, run_id: str, status: str, path: str = "/hook") -> dict:
    """One attempt's wire form: POST to the URL's path, the three Standard Webhooks headers,
    a valid signature, a `task_run.status` body for this run. Returns the parsed body."""
    assert hit.method == "POST", hit
    assert hit.path == path, hit
    assert hit.headers.get("content-type", "").split(";")[0].strip() == "application/json", hit.headers
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert len(hit.header_values(name)) == 1, (name, hit.header_list)
    assert hit.headers["webhook-id"].strip(), hit.headers
    ts = hit.headers["webhook-timestamp"]
    assert ts.isdigit(), f"webhook-timestamp is not unix seconds: {ts!r}"
    assert abs(int(ts) - hit.wall) < 30, f"webhook-timestamp {ts} is not the time of the attempt ({hit.wall:.0f})"
    assert signature_ok(hit, secret), (
        f"signature {hit.headers['webhook-signature']!r} does not verify; expected "
        f"{sign(secret, hit.headers['webhook-id'], ts, hit.body)!r}"
    )
    body = hit.json
    assert isinstance(body, dict) and set(body) == {"type", "timestamp", "data"}, body
    assert body["type"] == EVENT, body
    stamp = dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None, body["timestamp"]
    assert abs(stamp.timestamp() - hit.wall) < 60, body["timestamp"]
    data = body["data"]
    assert data["run_id"] == run_id and data["status"] == status and data["is_active"] is False, data
    TaskRun.model_validate(data, strict=False)  # the SDK's own run type accepts it
    return body


def assert_quiet(rcv: Receiver, expected: int, srv, unanswered: int = 0) -> list:
    """After the `expected` requests: nothing more arrives within QUIET, and the server's log
    agrees: for each delivery, exactly one failed attempt per non-2xx answer the receiver gave
    (plus `unanswered` attempts that never reached it), numbered 1, 2, … before the 2xx, and
    none given up. Returns the requests."""
    time.sleep(QUIET)
    hits = rcv.snapshot()
    assert len(hits) == expected, f"expected {expected} requests, got {len(hits)}: {hits}"
    for wid in {h.headers.get("webhook-id") for h in hits}:
        refused = sum(1 for h in hits if h.headers.get("webhook-id") == wid and not 200 <= h.status < 300)
        failed = srv.log_lines(FAILED, f"delivery={wid} ")
        attempts = sorted(int(re.search(r" attempt=(\d+)", line).group(1)) for line in failed)
        assert attempts == list(range(1, refused + unanswered + 1)), (
            f"delivery {wid}: the server logged failed attempts {attempts} for {refused} refused and "
            f"{unanswered} unanswered attempts: {failed}"
        )
        assert not srv.log_lines(GAVE_UP, f"delivery={wid} "), srv.log_lines(GAVE_UP, f"delivery={wid} ")
    return hits


def hook(url: str, with_types: bool = True) -> dict:
    return {"url": url, "event_types": [EVENT]} if with_types else {"url": url}


# --------------------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def hook_server(request, server_factory):
    """One server per backend for the module, allowed to reach loopback receivers."""
    srv = server_factory(request.param, extra_args=PRIVATE, env=LOG_INFO)
    yield srv
    srv.stop()


@pytest.fixture
def hsrv(hook_server):
    if not hook_server.alive():
        hook_server.start()
    yield hook_server
    hook_server.close_clients()


def finish(client: parallel.Parallel, run_id: str, status: str) -> None:
    res = wait_until(
        lambda: (lambda r: r if r.status in TERMINAL else None)(client.task_run.retrieve(run_id)),
        30,
        interval=0.05,
        what=f"run {run_id} to finish",
    )
    assert res.status == status, res


# --------------------------------------------------------------------------------------
# deliveries
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_types", [True, False], ids=["event_types", "no_event_types"])
def test_completed_run_delivers_once_signed(hsrv, receiver, with_types):
    rcv = receiver()
    client = hsrv.client()
    secret = secret_of(hsrv, hsrv.key)
    run = client.task_run.create(
        input="deliver me", processor="lite", webhook=hook(rcv.url("/hook?src=px"), with_types), metadata={"n": 1}
    )
    finish(client, run.run_id, "completed")
    hit = rcv.wait_for(1, 10, "for the delivery")[0]
    body = assert_delivery(hit, secret, run.run_id, "completed", path="/hook?src=px")
    assert body["data"]["metadata"] == {"n": 1}, body
    # the run exactly as GET returns it now
    got = hsrv.http().get(f"{RUNS}/{run.run_id}")
    assert got.status_code == 200
    assert canon_fields(body["data"]) == canon_fields(got.json()), (body["data"], got.json())
    assert hit.status == 200
    assert_quiet(rcv, 1, hsrv)


def test_failed_run_delivers_failed_status(hsrv, receiver):
    rcv = receiver()
    client = hsrv.client()
    run = client.task_run.create(
        input="fail me", processor="lite", webhook=hook(rcv.url()), metadata={FAIL_KEY: "boom"}
    )
    finish(client, run.run_id, "failed")
    hit = rcv.wait_for(1, 10, "for the delivery")[0]
    body = assert_delivery(hit, secret_of(hsrv, hsrv.key), run.run_id, "failed")
    assert "boom" in json.dumps(body["data"].get("error")), body["data"]
    got = hsrv.http().get(f"{RUNS}/{run.run_id}").json()
    assert canon_fields(body["data"]) == canon_fields(got), (body["data"], got)
    assert_quiet(rcv, 1, hsrv)


def test_run_without_webhook_sends_nothing(hsrv, receiver):
    """The run ends and nothing is sent for it; a control run with a webhook, ended after it,
    is delivered to the same receiver (so the delivery loop has been over the outbox since)."""
    rcv = receiver()
    client = hsrv.client()
    run = client.task_run.create(input="no hook", processor="lite", metadata={"hook": rcv.url()})
    finish(client, run.run_id, "completed")
    assert client.task_run.retrieve_input(run.run_id).webhook is None
    control = client.task_run.create(input="control", processor="lite", webhook=hook(rcv.url("/control")))
    finish(client, control.run_id, "completed")
    rcv.wait_for(1, 10, "(the control delivery)")
    hits = assert_quiet(rcv, 1, hsrv)
    assert hits[0].path == "/control" and hits[0].json["data"]["run_id"] == control.run_id, hits


def test_non_2xx_is_retried_with_the_same_id_until_2xx(hsrv, receiver):
    rcv = receiver(script=[500, 503, 204])
    client = hsrv.client()
    secret = secret_of(hsrv, hsrv.key)
    run = client.task_run.create(input="retry me", processor="lite", webhook=hook(rcv.url()))
    finish(client, run.run_id, "completed")
    hits = rcv.wait_for(3, 15, "(500, 503, then 204)")
    bodies = [assert_delivery(h, secret, run.run_id, "completed") for h in hits]
    assert len({h.headers["webhook-id"] for h in hits}) == 1, [h.headers["webhook-id"] for h in hits]
    stamps = [int(h.headers["webhook-timestamp"]) for h in hits]
    assert stamps == sorted(stamps), stamps
    assert all(b["data"] == bodies[0]["data"] and b["type"] == EVENT for b in bodies), bodies
    gaps = [b.mono - a.mono for a, b in zip(hits, hits[1:])]
    # first retry after --webhook-retry-seconds (not the 5 s default), then doubling
    assert RETRY * 0.75 <= gaps[0] < 3.0, gaps
    assert gaps[1] >= 2 * RETRY * 0.75, gaps
    assert_quiet(rcv, 3, hsrv)


def test_connection_refused_is_retried(hsrv, receiver):
    """The receiver is down when the run finishes and comes up later: a retry reaches it."""
    port = free_port()
    client = hsrv.client()
    run = client.task_run.create(input="wait for me", processor="lite", webhook=hook(f"http://127.0.0.1:{port}/up"))
    finish(client, run.run_id, "completed")
    url = f"http://127.0.0.1:{port}/up"
    hsrv.wait_for_log(FAILED, url)  # an attempt hit the closed port
    rcv = receiver(port=port)
    hit = rcv.wait_for(1, 10, "once the receiver is up")[0]
    assert_delivery(hit, secret_of(hsrv, hsrv.key), run.run_id, "completed", path="/up")
    assert_quiet(rcv, 1, hsrv, unanswered=len(hsrv.log_lines(FAILED, url)))


def test_idempotent_retry_of_create_delivers_once(hsrv, receiver):
    rcv = receiver()
    client = hsrv.client()
    idem = {"Idempotency-Key": "hook-" + hashlib.sha256(rcv.url().encode() + str(time.time()).encode()).hexdigest()}
    first = client.task_run.create(input="once", processor="lite", webhook=hook(rcv.url()), extra_headers=idem)
    again = client.task_run.create(input="once", processor="lite", webhook=hook(rcv.url()), extra_headers=idem)
    assert again.run_id == first.run_id
    finish(client, first.run_id, "completed")
    rcv.wait_for(1, 10, "for the delivery")
    assert_quiet(rcv, 1, hsrv)


@pytest.mark.parametrize("code", [302, 307])
def test_redirect_is_not_followed_but_retried(hsrv, receiver, code):
    """A 3xx is not a 2xx: the delivery is retried at the webhook URL, and the redirect
    target never gets a request (a 307 would re-send the signed body to another URL)."""
    rcv = receiver(script=[(code, {"location": "/elsewhere"}), 200])
    client = hsrv.client()
    secret = secret_of(hsrv, hsrv.key)
    run = client.task_run.create(input="redirect", processor="lite", webhook=hook(rcv.url()))
    finish(client, run.run_id, "completed")
    rcv.wait_for(2, 10, "(302, then 200)")
    hits = assert_quiet(rcv, 2, hsrv)
    seen = [(h.method, h.path, h.status, h.headers.get("webhook-id"), len(h.body)) for h in hits]
    assert [(h.method, h.path) for h in hits] == [("POST", "/hook"), ("POST", "/hook")], (
        f"after a {code}, expected a retry of the POST to /hook; got (method, path, answer, webhook-id, body bytes): {seen}"
    )
    for h in hits:
        assert_delivery(h, secret, run.run_id, "completed")
    assert hits[0].headers["webhook-id"] == hits[1].headers["webhook-id"]


def test_each_tenant_signs_with_its_own_secret(hsrv, receiver):
    rcv = receiver()
    mine, theirs = secret_of(hsrv, hsrv.key), secret_of(hsrv, hsrv.other_key)
    assert mine != theirs
    # a key made with `keys create` beside the running server: key on stdout, secret on stderr
    created = _cli(hsrv, "keys", "create", "--label", "hooks")
    assert created.returncode == 0, created.stderr
    new = created.stdout.strip()
    new_secret = secret_of(hsrv, new)
    assert new_secret in created.stderr, created.stderr
    assert new_secret not in created.stdout
    assert len({mine, theirs, new_secret}) == 3

    runs = {}
    for key, secret, path in ((hsrv.key, mine, "/a"), (hsrv.other_key, theirs, "/b"), (new, new_secret, "/c")):
        c = hsrv.client(key)
        runs[path] = (c.task_run.create(input=f"tenant {path}", processor="lite", webhook=hook(rcv.url(path))).run_id, secret)
    hits = rcv.wait_for(3, 15, "(one per tenant)")
    assert sorted(h.path for h in hits) == ["/a", "/b", "/c"], hits
    ids = set()
    for h in hits:
        run_id, secret = runs[h.path]
        assert_delivery(h, secret, run_id, "completed", path=h.path)
        others = [s for s in (mine, theirs, new_secret) if s != secret]
        assert not any(signature_ok(h, s) for s in others), f"{h.path} verifies with another tenant's secret"
        ids.add(h.headers["webhook-id"])
    assert len(ids) == 3, ids


def test_webhook_url_must_be_http(hsrv):
    client = hsrv.client()
    for url in ("ftp://127.0.0.1/hook", "file:///etc/passwd", "not a url"):
        with pytest.raises(parallel.UnprocessableEntityError) as exc:
            client.task_run.create(input="x", processor="lite", webhook={"url": url})
        detail = assert_error(exc.value, 422)
        assert detail is None or detail.get("pointer", "/webhook/url") == "/webhook/url", detail


# --------------------------------------------------------------------------------------
# SSRF guard
# --------------------------------------------------------------------------------------


def test_no_delivery_to_loopback_without_allow_private_fetch(hsrv, fresh_server, receiver):
    """The same receiver gets the delivery of a server with --allow-private-fetch (the
    control: so this test cannot pass by nobody delivering anything) and nothing from one
    without it, which gives each of those deliveries up (its log says so)."""
    srv = fresh_server(hsrv.backend, extra_args=HOOK_ARGS, env=LOG_INFO)
    rcv = receiver()
    client = srv.client()
    run_ids = [
        client.task_run.create(input=f"ssrf {host}", processor="lite", webhook=hook(rcv.url("/guarded", host))).run_id
        for host in ("127.0.0.1", "localhost")
    ]
    # other spellings of this host: refusing them at create (422) is fine too
    for host in ("0.0.0.0", "[::ffff:127.0.0.1]", "127.1", "2130706433"):
        payload = {"input": f"ssrf {host}", "processor": "lite", "webhook": hook(rcv.url("/guarded", host))}
        r = srv.http().post(RUNS, content=compact(payload), headers={"content-type": "application/json"})
        assert r.status_code in (202, 422), (host, r.status_code, r.text)
        if r.status_code == 202:
            run_ids.append(r.json()["run_id"])
    control = hsrv.client().task_run.create(input="control", processor="lite", webhook=hook(rcv.url("/control")))
    for run_id in run_ids:
        finish(client, run_id, "completed")
    rcv.wait_for(1, 10, "(the control delivery)")
    # The guarded deliveries are over once given up: none is attempted again.
    given_up = srv.wait_for_log(GAVE_UP, count=len(run_ids))
    assert len(given_up) == len(run_ids), given_up
    hits = rcv.snapshot()
    assert [h.path for h in hits if h.path != "/control"] == [], (
        f"a server without --allow-private-fetch reached the loopback receiver: {hits}"
    )
    assert len(hits) == 1 and hits[0].json["data"]["run_id"] == control.run_id, hits
    assert srv.alive()


# --------------------------------------------------------------------------------------
# durability
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_pending_delivery_survives_sigkill(fresh_server, receiver, backend):
    port = free_port()  # nothing listens here until the server has been killed
    srv = fresh_server(backend, extra_args=PRIVATE + ["--lease-seconds", "5"], env=LOG_INFO)
    secret = secret_of(srv, srv.key)
    client = srv.client()
    url = f"http://127.0.0.1:{port}/late"
    run = client.task_run.create(input="outlive me", processor="lite", webhook=hook(url))
    finish(client, run.run_id, "completed")
    srv.kill()  # SIGKILL right after the run finished; the receiver was down all along

    rcv = receiver(port=port)
    srv.start()
    assert secret_of(srv, srv.key) == secret, "the tenant's secret changed across a restart"
    hit = rcv.wait_for(1, 20, "after the restart")[0]
    assert_delivery(hit, secret, run.run_id, "completed", path="/late")
    assert_quiet(rcv, 1, srv, unanswered=len(srv.log_lines(FAILED, url)))
