"""`GET /openapi.json` as a client fetches it, and the SDK-made part of it kept in step with the
pinned SDK. (That the document lists exactly the routed operations is checked in Rust,
crates/server/tests/robustness.rs; schemathesis drives every operation from it,
test_schemathesis.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_sdk_described_operations_match_the_pinned_sdk():
    checked = subprocess.run([sys.executable, str(REPO / "scripts" / "openapi-from-sdk.py"), "--check"],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_openapi_json_needs_no_key_and_describes_both_spellings(server):
    answer = server.http(auth=False).get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    doc = answer.json()
    paths = doc["paths"]
    # Both spellings of the Parallel API, Parallax's own operations, the SDK's monitors.
    for path in ["/v1/tasks/runs", "/v1beta/tasks/runs", "/v1/tasks/groups", "/v1beta/tasks/groups",
                 "/healthz", "/metrics", "/openapi.json", "/v1/monitors", "/v1beta/memory/retrieve"]:
        assert path in paths, path
    ids = [op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    # Every $ref resolves.
    text = json.dumps(doc)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert refs <= set(doc["components"]["schemas"]), refs - set(doc["components"]["schemas"])
