"""The suite's own rules, which the other tests' results rest on.

- PostgreSQL tests are skipped only when PARALLAX_SKIP_POSTGRES=1 asks, and then reported as
  skipped; an unreachable PostgreSQL otherwise fails them; CI=true never skips.
- Test schemas carry the time they were made, which the Rust cleanup
  (crates/store/tests/backends/test_database.rs) reads to drop only expired ones.

The first rule is checked on an inner pytest run (pytester, in a subprocess) of a test that
needs only the `database_url` fixture, with this directory's conftest and support modules.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from support import fresh_schema_name

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
# Port 1 on loopback: nothing listens there.
UNREACHABLE = "postgres://postgres@127.0.0.1:1/test"


@pytest.fixture
def inner(pytester, monkeypatch):
    """Run the inner probe with the given environment; return its outcome counts."""
    pytester.makeconftest((HERE / "conftest.py").read_text())
    pytester.makepyfile(support=(HERE / "support.py").read_text())
    pytester.makepyfile(test_probe="def test_probe(database_url):\n    assert database_url\n")

    def run(**env) -> dict:
        for name in ("CI", "PARALLAX_SKIP_POSTGRES", "PARALLAX_TEST_DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
        outcomes = result.parseoutcomes()
        return {k: v for k, v in outcomes.items() if k in ("passed", "skipped", "failed", "errors")}

    return run


def test_unreachable_postgres_fails_unless_skipping_is_asked(inner):
    assert inner(PARALLAX_TEST_DATABASE_URL=UNREACHABLE) == {"errors": 1}
    assert inner(PARALLAX_TEST_DATABASE_URL=UNREACHABLE, PARALLAX_SKIP_POSTGRES="1") == {"skipped": 1}
    assert inner(PARALLAX_TEST_DATABASE_URL=UNREACHABLE, CI="true") == {"errors": 1}
    # Asked to skip, a reachable PostgreSQL is skipped too (as the Rust side filters its tests).
    assert inner(PARALLAX_SKIP_POSTGRES="1") == {"skipped": 1}


def test_ci_refuses_to_skip_postgres(inner):
    assert inner(PARALLAX_SKIP_POSTGRES="1", CI="true") == {"errors": 1}
    assert inner(PARALLAX_TEST_DATABASE_URL=UNREACHABLE, PARALLAX_SKIP_POSTGRES="1", CI="true") == {"errors": 1}


def test_schema_names_say_when_they_were_made():
    before = int(time.time())
    name = fresh_schema_name()
    after = int(time.time())
    m = re.fullmatch(r"parallax_test_(\d+)_([0-9a-f]{32})", name)
    assert m, name
    assert before <= int(m.group(1)) <= after
    assert len(name) <= 63, "PostgreSQL truncates longer identifiers"
    assert fresh_schema_name() != name
