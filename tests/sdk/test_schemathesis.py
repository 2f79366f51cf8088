"""Schemathesis over every operation Parallax serves, driven by the server's own `/openapi.json`.

For each backend, a fresh `parallax serve` (scripted processor) holds a few completed and failed
runs and a group; then `st run` generates requests from the document the server itself serves
(every operation it routes, under each spelling: Parallel's public spec for the Parallel API,
the official SDK's types for what the SDK calls beyond it, Parallax's own operations; see
crates/api/src/openapi.rs): examples, boundary coverage, fuzzing, and stateful sequences that
create runs and groups and follow their ids. It checks that no answer is a server error and that
every answer, and every event of every stream, matches the document's schemas
(`tests/schemathesis/hooks.py` decodes streams with the official SDK's decoder).

PARALLAX_SCHEMATHESIS_SEED picks the seed (CI uses the fixed default, so a failure reproduces);
PARALLAX_SCHEMATHESIS_EXAMPLES the examples per operation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import BACKENDS, FAIL_KEY, SLEEP_KEY, TERMINAL, wait_until

REPO = Path(__file__).resolve().parents[2]
HOOKS_DIR = REPO / "tests" / "schemathesis"
ST = Path(sys.executable).parent / "st"

SEED = os.environ.get("PARALLAX_SCHEMATHESIS_SEED", "20261206")
EXAMPLES = os.environ.get("PARALLAX_SCHEMATHESIS_EXAMPLES", "30")


def served_document(srv, tmp: Path) -> Path:
    """The server's own `/openapi.json` (every operation it serves, each spelling), saved."""
    answer = srv.http(auth=False).get("/openapi.json")
    assert answer.status_code == 200, answer.text
    out = tmp / "served-openapi.json"
    out.write_text(answer.text)
    return out


def seed_data(srv) -> None:
    """A few runs in each end state and a group, so id-taking operations reach real data."""
    client = srv.client()
    ids = [
        client.task_run.create(input="schemathesis seed", processor="lite").run_id,
        client.task_run.create(
            input="schemathesis seed", processor="base", metadata={FAIL_KEY: "seeded failure"}
        ).run_id,
        client.task_run.create(
            input={"country": "France"},
            processor="core",
            metadata={SLEEP_KEY: 10},
            task_spec={
                "output_schema": {
                    "type": "json",
                    "json_schema": {
                        "type": "object",
                        "properties": {"gdp": {"type": "string", "description": "GDP"}},
                        "required": ["gdp"],
                        "additionalProperties": False,
                    },
                }
            },
        ).run_id,
    ]
    group = client.task_group.create()
    client.task_group.add_runs(
        group.task_group_id, inputs=[{"input": "grouped", "processor": "lite"}] * 3
    )
    for run_id in ids:
        wait_until(lambda: client.task_run.retrieve(run_id).status in TERMINAL, 30, what=f"{run_id} to end")
    wait_until(
        lambda: not client.task_group.retrieve(group.task_group_id).status.is_active,
        30,
        what="the group to go idle",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(fresh_server, backend, tmp_path):
    assert ST.is_file(), f"schemathesis is not installed in this environment ({ST})"
    srv = fresh_server(backend)
    seed_data(srv)
    spec = served_document(srv, tmp_path)
    cmd = [
        str(ST), "run", str(spec),
        "--url", srv.base_url,
        "--header", f"x-api-key: {srv.key}",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--max-examples", EXAMPLES,
        "--seed", SEED,
        "--request-timeout", "30",
        # One worker: with several, hypothesis (on CPython 3.11) can fail inside its own
        # example generation ("AST constructor recursion depth mismatch"), which is not ours.
        "--workers", "1",
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "hooks",
        "PYTHONPATH": os.pathsep.join([str(HOOKS_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=str(tmp_path))
    report = proc.stdout + proc.stderr
    (tmp_path / "schemathesis-report.txt").write_text(report)
    # The summary line ("N generated, …") shows the run really exercised the API.
    generated = [line for line in report.splitlines() if " generated" in line]
    print("\n".join(generated))
    if proc.returncode != 0:
        pytest.fail(
            f"schemathesis found problems (exit {proc.returncode}); the report:\n{report[-30000:]}\n{srv.log_tail()}",
            pytrace=False,
        )
    if not generated or int(generated[-1].split()[0]) < 500:
        pytest.fail(f"too few cases were generated:\n{report[-5000:]}", pytrace=False)
