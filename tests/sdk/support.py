"""Shared helpers for the conformance suite: the server process wrapper and small utilities."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Optional

import httpx
import parallel
import pytest

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
LISTEN_RE = re.compile(r"^parallax listening on (http://127\.0\.0\.1:(\d+))$")
CREATED_KEY_RE = re.compile(r"^parallax: created API key (\S+)$")
BACKENDS = ["sqlite", "postgres"]
# Body limit (--max-body-bytes) of the shared servers: the 413 tests send just under and just over it.
MAX_BODY_BYTES = 65536


# --------------------------------------------------------------------------------------
# helpers shared with the tests
# --------------------------------------------------------------------------------------


def new_key() -> str:
    """A fresh API key, so tenants never collide with leftovers in a shared database."""
    return "pk_test_" + secrets.token_hex(16)


def fresh_schema_name() -> str:
    """A fresh PostgreSQL schema name for one test server: `parallax_test_<unix seconds>_<uuid>`.

    The same rule as the Rust tests (crates/store/tests/backends/test_database.rs), whose
    cleanup drops test schemas by the age in their name, once it is far above any test run's
    length: a schema of a server still running is never dropped, whatever process made it."""
    return f"parallax_test_{int(time.time())}_{uuid.uuid4().hex}"


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.02, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; return that value or fail."""
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - reported below if we time out
            last_exc = exc
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout}s waiting for {what}"
            if last_exc is not None:
                msg += f" (last error: {last_exc!r})"
            pytest.fail(msg)
        time.sleep(interval)


def clean_env() -> dict:
    """The child's environment: no PARALLAX_* configuration leaks in from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARALLAX_")}
    env.setdefault("RUST_BACKTRACE", "1")  # panics with a backtrace...
    env.setdefault("RUST_LIB_BACKTRACE", "0")  # ...but not every anyhow error
    env.setdefault("NO_COLOR", "1")
    return env


try:
    import ctypes

    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except Exception:  # noqa: BLE001 - not glibc Linux
    _LIBC = None


def _die_with_parent() -> None:
    """In the child: get SIGKILL if the test runner dies, so no server outlives the suite.
    (Everything is loaded beforehand: nothing is imported between fork and exec.)"""
    if _LIBC is not None:
        _LIBC.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


def index_add(binary: Path, data_dir: Path, *sources: str, allow_private: bool = True,
              database_url: Optional[str] = None) -> subprocess.CompletedProcess:
    """`parallax index add` into `data_dir` (run while no server uses that directory), or,
    with `database_url`, into that PostgreSQL database's pages, which a server with
    `--database-url` searches instead of a data directory's index."""
    cmd = [str(binary), "index", "add", "--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url]
    if allow_private:
        cmd.append("--allow-private-fetch")
    return subprocess.run(
        cmd + list(sources),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
        timeout=60,
        text=True,
    )


# --------------------------------------------------------------------------------------
# the server process
# --------------------------------------------------------------------------------------


class ParallaxServer:
    """One `parallax serve` process (and its restarts on the same data directory)."""

    def __init__(
        self,
        binary: Path,
        backend: str,
        data_dir: Path,
        keys: Optional[list] = None,
        database_url: Optional[str] = None,
        extra_args: Iterable[str] = (),
        scripted: bool = True,
        env: Optional[dict] = None,
        default_search: bool = False,
    ):
        self.binary = Path(binary)
        self.backend = backend
        self.data_dir = Path(data_dir)
        self.keys = list(keys) if keys is not None else [new_key(), new_key()]
        self.database_url = database_url
        self.extra_args = list(extra_args)
        self.scripted = scripted
        self.default_search = default_search
        self.env_overrides = dict(env or {})
        self.proc: Optional[subprocess.Popen] = None
        self.base_url: Optional[str] = None
        self.stdout_lines: list = []
        self._cond = threading.Condition()
        self._reader: Optional[threading.Thread] = None
        self._clients: list = []
        self.starts = 0
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.stderr.log"

    # -- process control ---------------------------------------------------------------

    def command(self) -> list:
        cmd = [str(self.binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        for key in self.keys:
            cmd += ["--api-key", key]
        if self.scripted:
            cmd.append("--scripted-processor")
        # The server's default adds Wikipedia; the suite stays offline and deterministic
        # unless a test names its providers.
        if not self.default_search and "--search" not in self.extra_args and "PARALLAX_SEARCH" not in self.env_overrides:
            cmd += ["--search", "local"]
        return cmd + self.extra_args

    def start(self, timeout: float = 60.0) -> "ParallaxServer":
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self._cond:
            self.stdout_lines = []
        log = open(self.log_path, "ab")
        shown = " ".join("<key>" if arg in self.keys else arg for arg in self.command())
        log.write(f"\n===== start #{self.starts}: {shown}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**clean_env(), **self.env_overrides},
            cwd=str(self.data_dir.parent),
            preexec_fn=_die_with_parent,
        )
        log.close()
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True)
        self._reader.start()
        line = self.wait_for_stdout(lambda l: LISTEN_RE.match(l), timeout, "the listening line")
        self.base_url = LISTEN_RE.match(line).group(1)
        return self

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                self.stdout_lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for_stdout(self, pred, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.stdout_lines:
                    if pred(line):
                        return line
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(
                        f"parallax exited with {self.proc.returncode} before printing {what}; "
                        f"stdout={self.stdout_lines!r}\n{self.log_tail()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(f"parallax did not print {what} within {timeout}s\n{self.log_tail()}")
                self._cond.wait(min(remaining, 0.1))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> Optional[int]:
        """Send `sig`, wait up to `timeout` s; SIGKILL if still alive. Returns the exit code
        from the graceful attempt, or None if it had to be killed."""
        self.close_clients()
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None
        finally:
            if self._reader is not None:
                self._reader.join(5)

    def kill(self) -> None:
        """SIGKILL, no grace."""
        self.close_clients()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)

    def restart(self, timeout: float = 60.0) -> "ParallaxServer":
        """Stop (gracefully) if running, then start again on the same data dir and keys."""
        if self.alive():
            self.stop()
        return self.start(timeout)

    def log_text(self) -> str:
        """All the server wrote to stderr, over all its starts."""
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def log_lines(self, *needles: str) -> list:
        """The server's log lines that contain each of `needles`."""
        return [line for line in self.log_text().splitlines() if all(n in line for n in needles)]

    def wait_for_log(self, *needles: str, count: int = 1, timeout: float = 10.0) -> list:
        """Wait until `count` log lines contain each of `needles`: what the server says it did,
        as a handshake. Returns those lines."""
        return wait_until(
            lambda: (lambda lines: lines if len(lines) >= count else None)(self.log_lines(*needles)),
            timeout,
            what=f"{count} server log line(s) with {needles}",
        )

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text("utf-8", "replace").splitlines()
        except OSError:
            return "(no server log)"
        return "----- parallax stderr (tail) -----\n" + "\n".join(lines[-n:])

    # -- clients -----------------------------------------------------------------------

    @property
    def key(self) -> str:
        return self.keys[0]

    @property
    def other_key(self) -> str:
        return self.keys[1]

    def client(self, key: Optional[str] = None, **kwargs) -> parallel.Parallel:
        """The official SDK, strict, no retries, loopback only."""
        http_client = httpx.Client(trust_env=False, timeout=httpx.Timeout(120.0, connect=5.0))
        c = parallel.Parallel(
            api_key=key if key is not None else self.key,
            base_url=self.base_url,
            _strict_response_validation=True,
            max_retries=0,
            http_client=http_client,
            **kwargs,
        )
        self._clients.append(c)
        return c

    def http(self, key: Optional[str] = None, auth: bool = True, **kwargs) -> httpx.Client:
        """A raw httpx client; sends x-api-key unless auth=False."""
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers.setdefault("x-api-key", key if key is not None else self.key)
        c = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            trust_env=False,
            timeout=kwargs.pop("timeout", httpx.Timeout(120.0, connect=5.0)),
            **kwargs,
        )
        self._clients.append(c)
        return c

    def close_clients(self) -> None:
        for c in self._clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass
        self._clients = []




# --------------------------------------------------------------------------------------
# wire helpers
# --------------------------------------------------------------------------------------

def collect_events(stream) -> list:
    """Iterate an SDK event stream to its end, failing instead of hanging on one that never ends."""
    events: list = []
    deadline = time.monotonic() + STREAM_DEADLINE
    with stream:
        for ev in stream:
            events.append(ev)
            if time.monotonic() > deadline or len(events) > STREAM_MAX_FRAMES:
                pytest.fail(f"event stream did not end (after {len(events)} events): {events[-3:]}")
    return events


def canon(value, ordered: bool = True):
    """A strict, type-tagged form of a parsed JSON value for comparisons: 1, 1.0 and true
    differ, and object key order counts unless ordered=False."""
    if isinstance(value, dict):
        items = [(k, canon(v, ordered)) for k, v in value.items()]
        return ("object", items if ordered else sorted(items, key=lambda kv: kv[0]))
    if isinstance(value, list):
        return ("array", [canon(v, ordered) for v in value])
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    raise TypeError(f"not a JSON value: {value!r}")


def canon_fields(obj: dict):
    """Top-level field order ignored, nested JSON values compared exactly (order included)."""
    assert isinstance(obj, dict), obj
    return sorted(((k, canon(v)) for k, v in obj.items()), key=lambda kv: kv[0])


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def error_body(err_or_resp) -> dict:
    """The parsed body of an SDK APIStatusError or an httpx.Response."""
    resp = err_or_resp if isinstance(err_or_resp, httpx.Response) else err_or_resp.response
    return resp.json()


def assert_error(err_or_resp, status: int, message: Optional[str] = None) -> dict:
    """The response has `status` and the spec's ErrorResponse body:
    {"type":"error","error":{"ref_id":<uuid>,"message":<str>,"detail":<object|null>?}}.
    Returns error.detail (or None)."""
    resp = err_or_resp if isinstance(err_or_resp, httpx.Response) else err_or_resp.response
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    # A refusal the same request will always get tells the SDK not to retry it.
    if (400 <= status < 500 and status not in (408, 409, 429)) or status == 501:
        assert resp.headers.get("x-should-retry") == "false", dict(resp.headers)
    elif status in (408, 429) or status >= 500:
        assert resp.headers.get("x-should-retry") != "false", dict(resp.headers)
    ctype = resp.headers.get("content-type", "")
    assert ctype.split(";")[0].strip() == "application/json", f"content-type {ctype!r}: {resp.text[:300]}"
    body = resp.json()
    if not isinstance(err_or_resp, httpx.Response):
        assert err_or_resp.status_code == status
        assert err_or_resp.body == body
    assert isinstance(body, dict) and body.get("type") == "error", body
    err = body.get("error")
    assert isinstance(err, dict), body
    assert isinstance(err.get("ref_id"), str), body
    uuid.UUID(err["ref_id"])  # raises if not a UUID
    assert isinstance(err.get("message"), str) and err["message"].strip(), body
    if message is not None:
        assert err["message"] == message, body
    detail = err.get("detail")
    assert detail is None or isinstance(detail, dict), body
    assert "run_id" not in body and "run_id" not in err, body
    return detail


def read_http_response(sock: socket.socket) -> Optional[tuple]:
    """One HTTP/1.1 response with a content-length from a raw socket: (status, headers with
    lower-case names, body), or None if the connection ended first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


class SseFrame:
    def __init__(self, id: Optional[str], event: Optional[str], data: str):
        self.id = id
        self.event = event
        self.data = data

    @property
    def json(self):
        return json.loads(self.data)

    @property
    def type(self):
        return self.json.get("type")

    def key(self):
        return (self.id, self.event, self.data)

    def __repr__(self):
        return f"SseFrame(id={self.id!r}, event={self.event!r}, data={self.data[:120]!r})"


STREAM_DEADLINE = 60.0
STREAM_MAX_FRAMES = 2000


def read_sse(
    resp: httpx.Response,
    stop_after: Optional[int] = None,
    on_frame: Optional[Callable[["SseFrame"], None]] = None,
) -> list:
    """Parse a text/event-stream per the WHATWG rules; stop after `stop_after` frames.
    `on_frame` is called with each frame as it arrives (a handshake for tests that act while
    a stream is live). Fails (rather than hanging) on a stream that does not end within
    STREAM_DEADLINE seconds or STREAM_MAX_FRAMES frames."""
    frames: list = []
    data: list = []
    event_id: Optional[str] = None
    event: Optional[str] = None
    deadline = time.monotonic() + STREAM_DEADLINE
    for line in resp.iter_lines():
        if time.monotonic() > deadline or len(frames) > STREAM_MAX_FRAMES:
            pytest.fail(f"event stream did not end (after {len(frames)} frames): {frames[-3:]}")
        if line == "":
            if data:
                frames.append(SseFrame(event_id, event, "\n".join(data)))
                if on_frame is not None:
                    on_frame(frames[-1])
                if stop_after is not None and len(frames) >= stop_after:
                    return frames
            data, event_id, event = [], None, None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
        elif field == "event":
            event = value
    if data:
        frames.append(SseFrame(event_id, event, "\n".join(data)))
    return frames


# The example of GET /v1/tasks/runs/{run_id}/input in the seed (shared/seed/retrieve-task-run-input.md),
# field for field and in the same key order.
SEED_INPUT = {
    "processor": "core",
    "metadata": {"my_key": "my_value"},
    "task_spec": {
        "output_schema": {
            "json_schema": {
                "type": "object",
                "properties": {
                    "gdp": {
                        "type": "string",
                        "description": "GDP in USD for the year, formatted like '$3.1 trillion (2023)'",
                    }
                },
                "required": ["gdp"],
                "additionalProperties": False,
            },
            "type": "json",
        },
        "input_schema": {
            "json_schema": {
                "type": "object",
                "properties": {"country": {"type": "string"}, "year": {"type": "integer"}},
                "required": ["country", "year"],
                "additionalProperties": False,
            },
            "type": "json",
        },
    },
    "input": {"country": "France", "year": 2023},
}

PROCESSORS = ["lite", "base", "core", "core2x", "pro", "ultra", "ultra2x", "ultra4x", "ultra8x"]
ALL_PROCESSORS = PROCESSORS + [p + "-fast" for p in PROCESSORS]
TERMINAL = {"completed", "failed", "cancelled"}

# Metadata keys the scripted test processor reads.
SLEEP_KEY = "scripted_sleep"
FAIL_KEY = "scripted_fail"
