"""Fixtures for the Parallax conformance suite.

The suite drives a real `parallax serve` process (built with the `scripted` feature) over
loopback, through the official `parallel-web` SDK with strict response validation, and
through raw httpx where byte-level detail matters.

Environment:
  PARALLAX_BIN                path to a prebuilt binary; skips `cargo build`
  PARALLAX_TEST_DATABASE_URL  PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/test)
  PARALLAX_SKIP_POSTGRES=1    skip the postgres tests (reported as skipped); without it an
                              unreachable PostgreSQL fails them
  CI=true                     PARALLAX_SKIP_POSTGRES=1 is refused: the postgres tests must run
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from support import BACKENDS, DEFAULT_DATABASE_URL, MAX_BODY_BYTES, ParallaxServer, fresh_schema_name

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def parallax_bin() -> Path:
    """The binary under test: $PARALLAX_BIN, or `cargo build -p parallax --features scripted`."""
    given = os.environ.get("PARALLAX_BIN")
    if given:
        path = Path(given).resolve()
        if not path.is_file():
            pytest.fail(f"PARALLAX_BIN={given} is not a file")
        return path
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo not found and PARALLAX_BIN not set")
    proc = subprocess.run(
        [cargo, "build", "-p", "parallax", "--features", "scripted"],
        cwd=str(REPO),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if proc.returncode != 0:
        pytest.fail("cargo build failed:\n" + proc.stdout.decode("utf-8", "replace")[-8000:])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    path = target / "debug" / "parallax"
    if not path.is_file():
        pytest.fail(f"cargo build succeeded but {path} does not exist")
    return path


@pytest.fixture(scope="session")
def database_url() -> str:
    """The PostgreSQL URL, checked reachable. Unreachable fails every postgres test, unless
    PARALLAX_SKIP_POSTGRES=1 asks to skip them: then pytest reports them as skipped (also when
    PostgreSQL is reachable, as the Rust side does). CI=true refuses to skip."""
    ci = os.environ.get("CI") == "true"
    if os.environ.get("PARALLAX_SKIP_POSTGRES") == "1":
        if ci:
            pytest.fail("CI=true, so PARALLAX_SKIP_POSTGRES=1 is refused: the PostgreSQL tests must run")
        pytest.skip("PARALLAX_SKIP_POSTGRES=1: PostgreSQL tests skipped")
    url = os.environ.get("PARALLAX_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5432
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as exc:
        how = "" if ci else "; PARALLAX_SKIP_POSTGRES=1 skips the postgres tests knowingly"
        pytest.fail(
            f"PostgreSQL at {host}:{port} is unreachable ({exc}). Start it or point "
            f"PARALLAX_TEST_DATABASE_URL at one{how}"
        )
    return url


@pytest.fixture(scope="session")
def server_factory(parallax_bin, tmp_path_factory, request):
    """Make servers: factory(backend, **kw) -> started ParallaxServer. All are stopped
    (SIGTERM, then SIGKILL) at the end of the session."""
    servers: list = []

    def factory(backend: str, start: bool = True, **kwargs) -> ParallaxServer:
        if backend == "postgres" and "database_url" not in kwargs:
            # A fresh schema per server (kept across its restarts), so no server sees runs
            # left by another; the Rust store tests drop it once it has expired.
            base = request.getfixturevalue("database_url")
            schema = fresh_schema_name()
            sep = "&" if "?" in base else "?"
            kwargs["database_url"] = f"{base}{sep}options=-csearch_path%3D{schema}"
        data_dir = tmp_path_factory.mktemp(f"parallax-{backend}") / "data"
        srv = ParallaxServer(parallax_bin, backend, data_dir, **kwargs)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield factory
    for srv in servers:
        srv.stop()


@pytest.fixture
def fresh_server(server_factory):
    """Function-scoped factory: servers started through it are stopped when the test ends."""
    mine: list = []

    def factory(backend: str, **kwargs) -> ParallaxServer:
        srv = server_factory(backend, **kwargs)
        mine.append(srv)
        return srv

    yield factory
    for srv in mine:
        srv.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def _shared_server(request, server_factory) -> ParallaxServer:
    return server_factory(request.param, extra_args=["--max-body-bytes", str(MAX_BODY_BYTES)])


@pytest.fixture
def server(_shared_server: ParallaxServer, request) -> ParallaxServer:
    """The shared server for this backend (one per session per backend). If an earlier test
    crashed it, it is restarted; a test during which it dies fails."""
    srv = _shared_server
    if not srv.alive():
        srv.start()
    yield srv
    srv.close_clients()
    died = not srv.alive()
    rep = getattr(request.node, "rep_call", None)
    if died or (rep is not None and rep.failed):
        print(srv.log_tail())
    if died:
        pytest.fail(f"parallax ({srv.backend}) died during the test with exit code {srv.proc.returncode}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
