"""Conformance of the Task Run API, judged by the official SDK (strict validation) and raw httpx.

Every test runs once per storage backend (the `server` fixture is parametrised).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from typing import Dict

import httpx
import parallel
import pydantic
import pytest
from parallel.types import RunInput, TaskRun, TaskRunResult

from support import (
    ALL_PROCESSORS,
    FAIL_KEY,
    MAX_BODY_BYTES,
    SEED_INPUT,
    SLEEP_KEY,
    TERMINAL,
    assert_error,
    canon,
    canon_fields,
    collect_events,
    compact,
    error_body,
    new_key,
    read_sse,
    wait_until,
)

RUNS = "/v1/tasks/runs"
NO_SUCH_RUN = "trun_" + "0" * 32


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def post_raw(http: httpx.Client, body: bytes, path: str = RUNS, **headers) -> httpx.Response:
    return http.post(path, content=body, headers={"content-type": "application/json", **headers})


def create_raw(http: httpx.Client, payload: dict, path: str = RUNS, **headers) -> dict:
    r = post_raw(http, compact(payload), path, **headers)
    assert r.status_code == 202, r.text
    return r.json()


def wait_terminal(client: parallel.Parallel, run_id: str, timeout: float = 30.0) -> TaskRun:
    return wait_until(
        lambda: (lambda r: r if r.status in TERMINAL else None)(client.task_run.retrieve(run_id)),
        timeout,
        interval=0.05,
        what=f"run {run_id} to finish",
    )


def wait_status(client: parallel.Parallel, run_id: str, status: str, timeout: float = 30.0) -> TaskRun:
    return wait_until(
        lambda: (lambda r: r if r.status == status else None)(client.task_run.retrieve(run_id)),
        timeout,
        interval=0.02,
        what=f"run {run_id} to be {status}",
    )


def parse_ts(value: str) -> dt.datetime:
    assert isinstance(value, str) and value, value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_task_run_shape(run: dict) -> None:
    """The raw TaskRun JSON: fields the spec requires, with their types."""
    for field in ("run_id", "interaction_id", "status", "is_active", "processor", "created_at", "modified_at"):
        assert field in run, (field, run)
    assert run["run_id"].startswith("trun_") and len(run["run_id"]) == 37, run["run_id"]
    int(run["run_id"][5:], 16)
    assert run["interaction_id"] == run["run_id"], run
    assert run["is_active"] == (run["status"] in ("queued", "running", "cancelling", "action_required")), run
    assert parse_ts(run["created_at"]).tzinfo is not None, run
    assert parse_ts(run["modified_at"]) >= parse_ts(run["created_at"]), run


def get_input_raw(http: httpx.Client, run_id: str, prefix: str = "/v1") -> httpx.Response:
    r = http.get(f"{prefix}/tasks/runs/{run_id}/input")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == "application/json"
    return r


# --------------------------------------------------------------------------------------
# health, create, retrieve
# --------------------------------------------------------------------------------------


def test_healthz_needs_no_key(server):
    r = server.http(auth=False).get("/healthz")
    assert r.status_code == 200, r.text


def test_create_returns_202_queued_task_run(server):
    client = server.client()
    raw = client.task_run.with_raw_response.create(
        input="What was the GDP of France in 2023?", processor="core", metadata={"my_key": "my_value"}
    )
    assert raw.status_code == 202
    run = raw.parse()
    assert isinstance(run, TaskRun)
    body = raw.http_response.json()
    assert_task_run_shape(body)
    assert body["status"] == "queued" and body["is_active"] is True, body
    assert body["processor"] == "core"
    assert body["metadata"] == {"my_key": "my_value"}
    assert run.run_id == body["run_id"]


def test_every_processor_is_accepted(server):
    client = server.client()
    ids = {}
    for proc in ALL_PROCESSORS:
        run = client.task_run.create(input=f"processor {proc}", processor=proc)
        assert run.processor == proc
        ids[proc] = run.run_id
    assert len(set(ids.values())) == len(ALL_PROCESSORS)
    for proc, run_id in ids.items():
        got = client.task_run.retrieve(run_id)
        assert got.processor == proc and got.run_id == run_id


@pytest.mark.parametrize("processor", ["turbo", "ultra16x", "lite-slow", "core3x"])
def test_unknown_processor_is_403(server, processor):
    client = server.client()
    with pytest.raises(parallel.PermissionDeniedError) as ei:
        client.task_run.create(input="x", processor=processor)
    assert_error(ei.value, 403, "Forbidden: invalid processor in request")


def test_retrieve_tracks_run_to_completion(server):
    client = server.client()
    created = client.task_run.create(input="hello", processor="lite", metadata={"k": "v", "n": 3, "b": True})
    done = wait_terminal(client, created.run_id)
    assert done.status == "completed" and done.is_active is False and done.error is None
    assert done.run_id == created.run_id and done.interaction_id == created.interaction_id
    assert done.created_at == created.created_at
    raw = server.http().get(f"{RUNS}/{created.run_id}")
    assert raw.status_code == 200
    body = raw.json()
    assert_task_run_shape(body)
    assert canon(body["metadata"]) == canon({"k": "v", "n": 3, "b": True})


def test_metadata_types_round_trip(server):
    http = server.http()
    meta = {"s": "x", "i": 7, "f": 1.5, "t": True, "z": False, "neg": -2}
    run = create_raw(http, {"processor": "lite", "input": "m", "metadata": meta})
    assert canon(run["metadata"]) == canon(meta)
    got = http.get(f"{RUNS}/{run['run_id']}").json()
    assert canon(got["metadata"]) == canon(meta)


def test_unknown_run_is_404_everywhere(server):
    client = server.client()
    for call in (
        lambda: client.task_run.retrieve(NO_SUCH_RUN),
        lambda: client.task_run.retrieve_input(NO_SUCH_RUN),
        lambda: client.task_run.result(NO_SUCH_RUN, api_timeout=1),
        lambda: client.task_run.events(NO_SUCH_RUN),
    ):
        with pytest.raises(parallel.NotFoundError) as ei:
            call()
        assert_error(ei.value, 404)


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


def test_result_json_schema_echoes_input(server):
    client = server.client()
    inp = {"country": "France", "year": 2023, "nested": {"b": [1, 2.5, None, True], "a": "é✓"}}
    run = client.task_run.create(
        input=inp,
        processor="base",
        task_spec={
            "output_schema": {
                "type": "json",
                "json_schema": {"type": "object", "properties": {"echo": {"type": "object"}}},
            }
        },
    )
    res = client.task_run.result(run.run_id)
    assert isinstance(res, TaskRunResult)
    assert res.run.status == "completed" and res.run.is_active is False and res.run.run_id == run.run_id
    assert res.output.type == "json"
    assert isinstance(res.output.basis, list)
    raw = server.http().get(f"{RUNS}/{run.run_id}/result").json()
    assert canon(raw["output"]["content"]) == canon({"echo": inp})


@pytest.mark.parametrize(
    "task_spec",
    [
        None,
        {"output_schema": "The answer, in one sentence"},
        {"output_schema": {"type": "text", "description": "A short answer"}},
        {"output_schema": {"type": "auto"}},
    ],
    ids=["no-task-spec", "bare-string", "text", "auto"],
)
def test_result_text_outputs_echo_string_input(server, task_spec):
    client = server.client()
    kwargs = {} if task_spec is None else {"task_spec": task_spec}
    run = client.task_run.create(input="What is Parallax?", processor="lite", **kwargs)
    res = client.task_run.result(run.run_id, api_timeout=30)
    assert res.output.type == "text"
    assert res.output.content == "echo: What is Parallax?"
    assert isinstance(res.output.basis, list)
    assert res.run.status == "completed"


def test_result_text_output_of_json_input_is_json_text(server):
    client = server.client()
    inp = {"country": "France", "year": 2023}
    run = client.task_run.create(input=inp, processor="lite", task_spec={"output_schema": "Country facts"})
    res = client.task_run.result(run.run_id, api_timeout=30)
    assert res.output.type == "text"
    assert res.output.content.startswith("echo: ")
    assert canon(json.loads(res.output.content[len("echo: ") :])) == canon(inp)


def test_result_of_completed_run_returns_immediately(server):
    client = server.client()
    run = client.task_run.create(input="fast", processor="lite")
    wait_status(client, run.run_id, "completed")
    t0 = time.monotonic()
    res = client.task_run.result(run.run_id, api_timeout=5)
    assert time.monotonic() - t0 < 2.0
    assert res.run.status == "completed"


def test_result_long_polls_until_completion(server):
    client = server.client()
    t0 = time.monotonic()
    run = client.task_run.create(input="slow", processor="lite", metadata={SLEEP_KEY: 1500})
    assert client.task_run.retrieve(run.run_id).is_active
    res = client.task_run.result(run.run_id)  # no timeout: blocks until the run is done
    elapsed = time.monotonic() - t0
    assert res.run.status == "completed" and res.run.is_active is False
    assert res.output.content == "echo: slow"
    # woken by the completion, not by a slow poll
    assert 1.4 <= elapsed < 4, elapsed


def test_result_timeout_on_active_run_is_408(server):
    client = server.client()
    run = client.task_run.create(input="five seconds", processor="lite", metadata={SLEEP_KEY: 5000})
    t0 = time.monotonic()
    with pytest.raises(parallel.APIStatusError) as ei:
        client.task_run.result(run.run_id, api_timeout=1)
    elapsed = time.monotonic() - t0
    assert_error(ei.value, 408)
    assert 0.9 <= elapsed < 3.5, elapsed
    assert client.task_run.retrieve(run.run_id).is_active
    res = client.task_run.result(run.run_id, api_timeout=30)
    assert res.run.status == "completed" and res.output.content == "echo: five seconds"


@pytest.mark.parametrize("timeout", ["abc", "1.5x", ""])
def test_result_bad_timeout_is_422(server, timeout):
    run = server.client().task_run.create(input="t", processor="lite")
    assert_error(server.http().get(f"{RUNS}/{run.run_id}/result", params={"timeout": timeout}), 422)


def test_failed_run_reports_error_and_result_is_404(server):
    client = server.client()
    message = "scripted failure: the source was unreachable"
    run = client.task_run.create(input="doomed", processor="lite", metadata={FAIL_KEY: message})
    done = wait_terminal(client, run.run_id)
    assert done.status == "failed" and done.is_active is False
    assert done.error is not None and done.error.message == message
    with pytest.raises(parallel.NotFoundError) as ei:
        client.task_run.result(run.run_id, api_timeout=5)
    # The 404 says why, under the ref_id the failure was logged with.
    ref = done.error.ref_id
    detail = assert_error(ei.value, 404, f"Run failed: {message} (ref_id {ref})")
    assert error_body(ei.value)["error"]["ref_id"] == ref
    assert detail["run_id"] == run.run_id and detail["status"] == "failed"
    assert detail["error"]["message"] == message and detail["error"]["ref_id"] == ref


def test_result_waiting_on_run_that_fails_is_404(server):
    client = server.client()
    run = client.task_run.create(
        input="doomed later", processor="lite", metadata={FAIL_KEY: "late failure", SLEEP_KEY: 800}
    )
    with pytest.raises(parallel.NotFoundError) as ei:
        client.task_run.result(run.run_id, api_timeout=30)
    got = client.task_run.retrieve(run.run_id)
    assert got.status == "failed" and got.error.message == "late failure"
    assert_error(ei.value, 404, f"Run failed: late failure (ref_id {got.error.ref_id})")


def test_execute_with_text_output(server):
    client = server.client()
    res = client.task_run.execute(input="hello there", processor="lite", timeout=60)
    assert isinstance(res, TaskRunResult)
    assert res.output.type == "text" and res.output.content == "echo: hello there"


def test_execute_with_pydantic_output(server):
    class Echo(pydantic.BaseModel):
        echo: Dict[str, object]

    client = server.client()
    res = client.task_run.execute(
        input={"country": "France", "year": 2023}, processor="base", output=Echo, metadata={"via": "execute"}, timeout=60
    )
    assert res.output.type == "json"
    assert res.output.parsed == Echo(echo={"country": "France", "year": 2023})
    assert res.run.metadata == {"via": "execute"}


# --------------------------------------------------------------------------------------
# GET /v1/tasks/runs/{run_id}/input -- the seed endpoint
# --------------------------------------------------------------------------------------


def test_input_seed_example_exactly(server):
    """Send the seed's example request; /input returns it field for field, key order included."""
    http = server.http()
    run = create_raw(http, SEED_INPUT)
    r = get_input_raw(http, run["run_id"])
    assert canon(r.json()) == canon(SEED_INPUT)  # order-sensitive, type-tagged
    assert r.content == compact(SEED_INPUT)
    # and the SDK, strictly validating, reads the same thing
    got = server.client().task_run.retrieve_input(run["run_id"])
    assert isinstance(got, RunInput)
    assert canon(got.to_dict(mode="json", exclude_unset=True), ordered=False) == canon(SEED_INPUT, ordered=False)
    assert got.processor == "core"
    assert got.input == {"country": "France", "year": 2023}
    assert got.task_spec.output_schema.json_schema == SEED_INPUT["task_spec"]["output_schema"]["json_schema"]


def test_input_seed_example_via_sdk_create(server):
    client = server.client()
    run = client.task_run.create(
        processor=SEED_INPUT["processor"],
        metadata=SEED_INPUT["metadata"],
        task_spec=SEED_INPUT["task_spec"],
        input=SEED_INPUT["input"],
    )
    r = get_input_raw(server.http(), run.run_id)
    assert canon_fields(r.json()) == canon_fields(SEED_INPUT)


def test_input_seed_run_echoes_json(server):
    client = server.client()
    run = create_raw(server.http(), SEED_INPUT)
    res = client.task_run.result(run["run_id"], api_timeout=30)
    assert res.output.type == "json"
    assert res.output.content == {"echo": {"country": "France", "year": 2023}}


def test_input_minimal_has_only_sent_fields(server):
    http = server.http()
    for payload in ({"processor": "lite", "input": "just text"}, {"input": {"q": 1}, "processor": "base"}):
        run = create_raw(http, payload)
        body = get_input_raw(http, run["run_id"]).json()
        assert set(body) == set(payload), body
        assert canon_fields(body) == canon_fields(payload)
        got = server.client().task_run.retrieve_input(run["run_id"])
        assert got.model_fields_set == set(payload)


def test_input_ignores_unknown_fields(server):
    """Fields outside the TaskRunInput schema are ignored, as the upstream API does, and never
    echoed back."""
    http = server.http()
    payload = {"processor": "lite", "input": "extra", "not_a_field": {"x": 1}, "betas": ["y"]}
    run = create_raw(http, payload)
    body = get_input_raw(http, run["run_id"]).json()
    assert set(body) == {"processor", "input"}, body


def test_input_bare_string_schemas_come_back_as_strings(server):
    http = server.http()
    payload = {
        "processor": "lite",
        "input": "France",
        "task_spec": {"output_schema": "The GDP of the country in 2023", "input_schema": "A country name"},
    }
    run = create_raw(http, payload)
    r = get_input_raw(http, run["run_id"])
    assert canon_fields(r.json()) == canon_fields(payload)
    got = server.client().task_run.retrieve_input(run["run_id"])
    assert got.task_spec.output_schema == "The GDP of the country in 2023"
    assert got.task_spec.input_schema == "A country name"
    # ...while execution treats the bare string as a text schema
    res = server.client().task_run.result(run["run_id"], api_timeout=30)
    assert res.output.type == "text" and res.output.content == "echo: France"


def test_input_schema_forms_preserved(server):
    http = server.http()
    cases = [
        {"output_schema": {"type": "text", "description": "A short answer"}},
        {"output_schema": {"type": "text"}},
        {"output_schema": {"type": "auto"}},
        {"output_schema": {"json_schema": {"type": "object", "properties": {"a": {"type": "string"}}}}},
        {"output_schema": "plain", "input_schema": {"type": "text", "description": "A question"}},
        {"output_schema": "plain", "input_schema": None},
    ]
    for task_spec in cases:
        payload = {"processor": "lite", "input": "q", "task_spec": task_spec}
        run = create_raw(http, payload)
        body = get_input_raw(http, run["run_id"]).json()
        assert canon(body["task_spec"]) == canon(task_spec), (task_spec, body)
        server.client().task_run.retrieve_input(run["run_id"])  # strict parse


def test_input_every_optional_field(server):
    http = server.http()
    prev = create_raw(http, {"processor": "lite", "input": "earlier question"})
    payload = {
        "processor": "pro",
        "input": {"company": "Parallel", "founded": 2023, "public": False, "ratio": 0.25, "tags": ["a", "b"]},
        "metadata": {"team": "research", "priority": 2, "weight": 0.5, "urgent": True},
        "source_policy": {
            "include_domains": ["wikipedia.org", ".gov", "sub.example.co.uk"],
            "exclude_domains": ["reddit.com", ".ai"],
            "after_date": "2024-01-01",
        },
        "task_spec": {
            "output_schema": {
                "type": "json",
                "json_schema": {
                    "type": "object",
                    "properties": {"summary": {"type": "string", "description": "One paragraph"}},
                    "required": ["summary"],
                    "additionalProperties": False,
                },
            },
            "input_schema": {
                "type": "json",
                "json_schema": {
                    "type": "object",
                    "properties": {"company": {"type": "string"}, "founded": {"type": "integer"}},
                    "required": ["company"],
                },
            },
        },
        "previous_interaction_id": prev["interaction_id"],
        "webhook": {"url": "http://127.0.0.1:9/parallax-webhook", "event_types": ["task_run.status"]},
        "mcp_servers": [
            {
                "type": "url",
                "name": "local_tools",
                "url": "http://127.0.0.1:9/mcp",
                "headers": {"x-token": "t0k3n"},
                "allowed_tools": ["lookup"],
            }
        ],
        "enable_events": True,
        "advanced_settings": {"location": "US"},
        "memory_scope_key": "scope-research-1",
    }
    run = create_raw(http, payload)
    r = get_input_raw(http, run["run_id"])
    assert canon_fields(r.json()) == canon_fields(payload)
    got = server.client().task_run.retrieve_input(run["run_id"])
    assert got.model_fields_set == set(payload)
    assert got.previous_interaction_id == prev["interaction_id"]
    assert got.webhook.url == payload["webhook"]["url"]
    assert got.mcp_servers[0].name == "local_tools"
    assert got.enable_events is True and got.memory_scope_key == "scope-research-1"


def test_input_explicit_nulls_are_kept(server):
    http = server.http()
    payload = {
        "processor": "lite",
        "input": "nulls",
        "metadata": None,
        "source_policy": None,
        "task_spec": None,
        "previous_interaction_id": None,
        "webhook": None,
        "mcp_servers": None,
        "enable_events": None,
        "advanced_settings": None,
        "memory_scope_key": None,
    }
    run = create_raw(http, payload)
    r = get_input_raw(http, run["run_id"])
    assert canon_fields(r.json()) == canon_fields(payload)
    got = server.client().task_run.retrieve_input(run["run_id"])
    assert got.model_fields_set == set(payload)


def test_input_json_values_are_exact(server):
    """Numbers that f64 cannot hold, 1.0 vs 1, unicode and escapes survive unchanged."""
    http = server.http()
    raw_input = (
        '{"big":10000000000000000000001,"one":1.0,"small":1.5e-7,"int":1,"neg":-0.5,'
        '"s":"\u00e9\u2713\U0001F600","esc":"q\\"b\\\\c\\u0001\\n","nested":{"z":1,"a":[true,false,null,{}]}}'
    )
    raw_meta = '{"n":2.0,"i":7,"b":true,"s":"x"}'
    body = ('{"processor":"lite","input":' + raw_input + ',"metadata":' + raw_meta + "}").encode("utf-8")
    r = post_raw(http, body)
    assert r.status_code == 202, r.text
    got = get_input_raw(http, r.json()["run_id"])
    parsed = got.json()
    assert canon(parsed["input"]) == canon(json.loads(raw_input))
    assert canon(parsed["metadata"]) == canon(json.loads(raw_meta))
    assert isinstance(parsed["input"]["big"], int) and parsed["input"]["big"] == 10000000000000000000001


def test_input_json_values_byte_for_byte(server):
    """The raw bytes of JSON values the client sent appear unchanged in /input."""
    http = server.http()
    raw_input = '{"big":10000000000000000000001,"one":1.0,"small":1.5e-7,"s":"\u00e9\u2713","z":{"b":1,"a":2}}'
    body = ('{"processor":"lite","input":' + raw_input + "}").encode("utf-8")
    r = post_raw(http, body)
    assert r.status_code == 202, r.text
    got = get_input_raw(http, r.json()["run_id"])
    assert raw_input.encode("utf-8") in got.content, got.content


def test_input_source_policy_domain_path_entries(server):
    """SDK 1.3.7 documents domain/path prefixes (e.g. docs.python.org/3) as valid entries."""
    http = server.http()
    payload = {
        "processor": "lite",
        "input": "paths",
        "source_policy": {"include_domains": ["docs.python.org/3"], "exclude_domains": ["youtube.com/shorts"]},
    }
    run = create_raw(http, payload)
    assert canon_fields(get_input_raw(http, run["run_id"]).json()) == canon_fields(payload)


def test_input_of_other_tenant_is_404(server):
    run = server.client(server.key).task_run.create(input="mine", processor="lite")
    with pytest.raises(parallel.NotFoundError) as ei:
        server.client(server.other_key).task_run.retrieve_input(run.run_id)
    assert_error(ei.value, 404)


# --------------------------------------------------------------------------------------
# auth and tenancy
# --------------------------------------------------------------------------------------


def _endpoints(run_id: str):
    return [
        ("POST", RUNS, {"processor": "lite", "input": "x"}),
        ("GET", f"{RUNS}/{run_id}", None),
        ("GET", f"{RUNS}/{run_id}/input", None),
        ("GET", f"{RUNS}/{run_id}/result?timeout=1", None),
        ("GET", f"{RUNS}/{run_id}/events", None),
    ]


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "pk_wrong"}, {"authorization": "Bearer pk_wrong"}, {"x-api-key": ""}, {"authorization": "Basic abc"}],
    ids=["missing", "wrong-x-api-key", "wrong-bearer", "empty", "basic"],
)
def test_bad_credentials_are_401_on_every_endpoint(server, headers):
    run = server.client().task_run.create(input="auth", processor="lite")
    http = server.http(auth=False)
    for method, path, body in _endpoints(run.run_id) + _endpoints(NO_SUCH_RUN)[1:]:
        r = http.request(method, path, json=body, headers=headers)
        assert_error(r, 401)


def test_sdk_wrong_key_is_authentication_error(server):
    client = server.client(new_key())
    with pytest.raises(parallel.AuthenticationError) as ei:
        client.task_run.create(input="x", processor="lite")
    assert_error(ei.value, 401)
    with pytest.raises(parallel.AuthenticationError):
        client.task_run.retrieve(NO_SUCH_RUN)


def test_bearer_token_is_accepted(server):
    http = server.http(auth=False, headers={"authorization": f"Bearer {server.key}"})
    r = http.post(RUNS, json={"processor": "lite", "input": "bearer"})
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    assert http.get(f"{RUNS}/{run_id}").status_code == 200
    # the same tenant as x-api-key
    assert server.client(server.key).task_run.retrieve(run_id).run_id == run_id


def test_other_tenant_gets_404_on_every_endpoint(server):
    mine = server.client(server.key).task_run.create(input="private", processor="lite")
    theirs = server.client(server.other_key)
    http = server.http(server.other_key)
    for suffix in ("", "/input", "/result?timeout=1", "/events"):
        foreign = http.get(f"{RUNS}/{mine.run_id}{suffix}")
        missing = http.get(f"{RUNS}/{NO_SUCH_RUN}{suffix}")
        assert_error(foreign, 404)
        assert_error(missing, 404)
        # indistinguishable from a run that does not exist
        assert foreign.json()["error"]["message"] == missing.json()["error"]["message"], suffix
    for call in (
        lambda: theirs.task_run.retrieve(mine.run_id),
        lambda: theirs.task_run.retrieve_input(mine.run_id),
        lambda: theirs.task_run.result(mine.run_id, api_timeout=1),
        lambda: theirs.task_run.events(mine.run_id),
    ):
        with pytest.raises(parallel.NotFoundError):
            call()
    # and the owner still sees it
    assert server.client(server.key).task_run.retrieve(mine.run_id).run_id == mine.run_id


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------

OBJ_SCHEMA = {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}

INVALID = [
    ("missing-processor", {"input": "x"}, "/processor"),
    ("missing-input", {"processor": "lite"}, "/input"),
    ("input-number", {"processor": "lite", "input": 42}, "/input"),
    ("input-array", {"processor": "lite", "input": ["a"]}, "/input"),
    ("input-null", {"processor": "lite", "input": None}, "/input"),
    ("processor-not-string", {"processor": 5, "input": "x"}, "/processor"),
    ("metadata-key-17", {"processor": "lite", "input": "x", "metadata": {"k" * 17: "v"}}, "/metadata"),
    ("metadata-value-513", {"processor": "lite", "input": "x", "metadata": {"k": "v" * 513}}, "/metadata"),
    ("metadata-value-object", {"processor": "lite", "input": "x", "metadata": {"k": {"a": 1}}}, "/metadata"),
    ("metadata-value-array", {"processor": "lite", "input": "x", "metadata": {"k": [1]}}, "/metadata"),
    ("metadata-value-null", {"processor": "lite", "input": "x", "metadata": {"k": None}}, "/metadata"),
    ("metadata-not-object", {"processor": "lite", "input": "x", "metadata": "k=v"}, "/metadata"),
    (
        "source-policy-scheme",
        {"processor": "lite", "input": "x", "source_policy": {"include_domains": ["http://x.com"]}},
        "/source_policy/include_domains",
    ),
    (
        "source-policy-not-domain",
        {"processor": "lite", "input": "x", "source_policy": {"exclude_domains": ["not a domain!"]}},
        "/source_policy/exclude_domains",
    ),
    (
        "source-policy-201-entries",
        {
            "processor": "lite",
            "input": "x",
            "source_policy": {
                "include_domains": [f"d{i}.example.com" for i in range(101)],
                "exclude_domains": [f"e{i}.example.com" for i in range(100)],
            },
        },
        "/source_policy",
    ),
    (
        "source-policy-after-date-format",
        {"processor": "lite", "input": "x", "source_policy": {"after_date": "01/02/2024"}},
        "/source_policy/after_date",
    ),
    (
        "source-policy-after-date-invalid",
        {"processor": "lite", "input": "x", "source_policy": {"after_date": "2024-13-45"}},
        "/source_policy/after_date",
    ),
    (
        "output-schema-not-object",
        {"processor": "lite", "input": "x", "task_spec": {"output_schema": {"type": "json", "json_schema": {"type": "string"}}}},
        "/task_spec/output_schema",
    ),
    (
        "output-schema-not-compiling",
        {
            "processor": "lite",
            "input": "x",
            "task_spec": {
                "output_schema": {"type": "json", "json_schema": {"type": "object", "properties": {"a": {"type": 12}}}}
            },
        },
        "/task_spec/output_schema",
    ),
    ("task-spec-without-output-schema", {"processor": "lite", "input": "x", "task_spec": {}}, "/task_spec"),
    (
        "input-not-matching-input-schema",
        {
            "processor": "lite",
            "input": {"year": 2023},
            "task_spec": {"output_schema": "x", "input_schema": {"type": "json", "json_schema": OBJ_SCHEMA}},
        },
        "/input",
    ),
    (
        "previous-interaction-unknown",
        {"processor": "lite", "input": "x", "previous_interaction_id": NO_SUCH_RUN},
        "/previous_interaction_id",
    ),
]


@pytest.mark.parametrize("payload,pointer", [(p, ptr) for _, p, ptr in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_create_is_422_with_pointer(server, payload, pointer):
    r = post_raw(server.http(), compact(payload))
    detail = assert_error(r, 422)
    assert isinstance(detail, dict), r.json()
    assert isinstance(detail.get("pointer"), str), detail
    assert detail["pointer"] == pointer or detail["pointer"].startswith(pointer + "/"), (pointer, detail)
    assert isinstance(detail.get("reason"), str) and detail["reason"].strip(), detail


def test_invalid_create_via_sdk_is_unprocessable(server):
    client = server.client()
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.task_run.create(input="x", processor="lite", metadata={"a_key_that_is_too_long": "v"})
    detail = assert_error(ei.value, 422)
    assert detail["pointer"].startswith("/metadata"), detail


def test_validation_limits_are_inclusive(server):
    """Exactly at the limits is accepted: 16-char keys, 512-char values, 200 domains."""
    http = server.http()
    payload = {
        "processor": "lite",
        "input": {"country": "France"},
        "metadata": {"k" * 16: "v" * 512, "n": 1e300, "b": False},
        "source_policy": {
            "include_domains": [f"d{i}.example.com" for i in range(100)],
            "exclude_domains": [f"e{i}.example.com" for i in range(99)] + [".edu"],
            "after_date": "2024-02-29",
        },
        "task_spec": {"output_schema": "x", "input_schema": {"type": "json", "json_schema": OBJ_SCHEMA}},
    }
    run = create_raw(http, payload)
    assert canon_fields(get_input_raw(http, run["run_id"]).json()) == canon_fields(payload)


def test_previous_interaction_of_other_tenant_is_422(server):
    theirs = server.client(server.other_key).task_run.create(input="theirs", processor="lite")
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        server.client(server.key).task_run.create(
            input="follow-up", processor="lite", previous_interaction_id=theirs.interaction_id
        )
    detail = assert_error(ei.value, 422)
    assert detail["pointer"] == "/previous_interaction_id", detail


def test_previous_interaction_of_own_run_is_accepted(server):
    client = server.client()
    first = client.task_run.create(input="first", processor="lite")
    second = client.task_run.create(input="second", processor="lite", previous_interaction_id=first.interaction_id)
    assert second.run_id != first.run_id
    assert client.task_run.retrieve_input(second.run_id).previous_interaction_id == first.interaction_id


@pytest.mark.parametrize(
    "body", [b'{"processor": "lite", "input": ', b"not json", b"", b"[]", b'"text"'], ids=["truncated", "garbage", "empty", "array", "string"]
)
def test_malformed_json_is_422(server, body):
    assert_error(post_raw(server.http(), body), 422)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None], ids=["text", "form", "none"])
def test_wrong_content_type_is_422(server, ctype):
    http = server.http()
    headers = {} if ctype is None else {"content-type": ctype}
    r = http.post(RUNS, content=b'{"processor":"lite","input":"x"}', headers=headers)
    # The hosted API (FastAPI) answers 422 here, not 415.
    assert assert_error(r, 422)["pointer"] == ""


def test_json_content_type_with_charset_is_accepted(server):
    r = server.http().post(
        RUNS, content=b'{"processor":"lite","input":"x"}', headers={"content-type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 202, r.text


def _body_of_size(size: int) -> bytes:
    head, tail = b'{"processor":"lite","input":"', b'"}'
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return body


def test_body_at_limit_is_accepted(server):
    r = post_raw(server.http(), _body_of_size(MAX_BODY_BYTES))
    assert r.status_code == 202, r.text[:300]


def test_body_over_limit_is_413(server):
    assert_error(post_raw(server.http(), _body_of_size(MAX_BODY_BYTES + 1)), 413)


def test_chunked_body_over_limit_is_413(server):
    body = _body_of_size(4 * MAX_BODY_BYTES)

    def chunks():
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    r = server.http().post(RUNS, content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413)


# --------------------------------------------------------------------------------------
# idempotency
# --------------------------------------------------------------------------------------


def test_idempotency_same_body_same_response(server):
    http = server.http()
    key = str(uuid.uuid4())
    body = compact({"processor": "lite", "input": "idempotent", "metadata": {"n": 1}})
    first = post_raw(http, body, **{"Idempotency-Key": key})
    second = post_raw(http, body, **{"Idempotency-Key": key})
    assert first.status_code == 202 and second.status_code == 202, (first.text, second.text)
    assert second.json() == first.json()
    # SDK repeats (what its retries send) get the same run too
    client = server.client()
    sdk_key = str(uuid.uuid4())
    a = client.task_run.create(input="sdk", processor="lite", extra_headers={"Idempotency-Key": sdk_key})
    b = client.task_run.create(input="sdk", processor="lite", extra_headers={"Idempotency-Key": sdk_key})
    assert a.run_id == b.run_id
    # a different key is a different run
    other = post_raw(http, body, **{"Idempotency-Key": str(uuid.uuid4())})
    assert other.status_code == 202 and other.json()["run_id"] != first.json()["run_id"]


def test_idempotency_repeat_after_completion_returns_first_response(server):
    http = server.http()
    key = str(uuid.uuid4())
    body = compact({"processor": "lite", "input": "replayed later"})
    first = post_raw(http, body, **{"Idempotency-Key": key})
    assert first.status_code == 202
    run_id = first.json()["run_id"]
    wait_status(server.client(), run_id, "completed")
    again = post_raw(http, body, **{"Idempotency-Key": key})
    assert again.status_code == 202, again.text
    assert again.json() == first.json()


def test_idempotency_different_body_is_409(server):
    http = server.http()
    key = str(uuid.uuid4())
    first = create_raw(http, {"processor": "lite", "input": "one"}, **{"Idempotency-Key": key})
    with pytest.raises(parallel.ConflictError) as ei:
        server.client().task_run.create(input="two", processor="lite", extra_headers={"Idempotency-Key": key})
    assert_error(ei.value, 409)
    # the first run is unaffected
    assert server.client().task_run.retrieve_input(first["run_id"]).input == "one"


def test_idempotency_keys_are_per_tenant(server):
    key = str(uuid.uuid4())
    body = {"processor": "lite", "input": "same body"}
    a = create_raw(server.http(server.key), body, **{"Idempotency-Key": key})
    b = create_raw(server.http(server.other_key), body, **{"Idempotency-Key": key})
    assert a["run_id"] != b["run_id"]
    with pytest.raises(parallel.NotFoundError):
        server.client(server.other_key).task_run.retrieve(a["run_id"])


def test_idempotency_concurrent_repeats_make_one_run(server):
    key = str(uuid.uuid4())
    body = compact({"processor": "lite", "input": "racing"})
    results: list = []
    barrier = threading.Barrier(6)

    def go():
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=30) as c:
            barrier.wait()
            r = c.post(
                RUNS, content=body, headers={"x-api-key": server.key, "content-type": "application/json", "Idempotency-Key": key}
            )
            results.append((r.status_code, r.json().get("run_id")))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 6
    assert {s for s, _ in results} == {202}, results
    assert len({rid for _, rid in results}) == 1, results


# --------------------------------------------------------------------------------------
# /v1beta spellings
# --------------------------------------------------------------------------------------


def test_v1beta_paths_serve_the_same_resources(server):
    http = server.http()
    payload = {"processor": "lite", "input": "beta paths", "enable_events": True}
    run = create_raw(http, payload, path="/v1beta/tasks/runs")
    assert_task_run_shape(run)
    run_id = run["run_id"]
    server.client().task_run.result(run_id, api_timeout=30)
    for suffix in ("", "/input", "/result"):
        v1 = http.get(f"/v1/tasks/runs/{run_id}{suffix}")
        beta = http.get(f"/v1beta/tasks/runs/{run_id}{suffix}")
        assert v1.status_code == 200 and beta.status_code == 200, (suffix, v1.text, beta.text)
        assert canon(beta.json()) == canon(v1.json()), suffix
    assert canon_fields(http.get(f"/v1beta/tasks/runs/{run_id}/input").json()) == canon_fields(payload)
    with http.stream("GET", f"/v1/tasks/runs/{run_id}/events") as r1:
        assert r1.status_code == 200
        v1_frames = read_sse(r1)
    with http.stream("GET", f"/v1beta/tasks/runs/{run_id}/events") as r2:
        assert r2.status_code == 200
        beta_frames = read_sse(r2)
    assert [f.key() for f in beta_frames] == [f.key() for f in v1_frames]
    assert v1_frames and v1_frames[-1].type == "task_run.state"
    # errors are the same too
    assert_error(http.get(f"/v1beta/tasks/runs/{NO_SUCH_RUN}"), 404)
    assert_error(server.http(auth=False).get(f"/v1beta/tasks/runs/{run_id}/input"), 401)


# --------------------------------------------------------------------------------------
# events (SSE)
# --------------------------------------------------------------------------------------

PROGRESS_MSG = "task_run.progress_msg."


def _stream(http: httpx.Client, run_id: str, last_event_id=None, stop_after=None):
    headers = {"accept": "text/event-stream"}
    if last_event_id is not None:
        headers["last-event-id"] = last_event_id
    with http.stream("GET", f"{RUNS}/{run_id}/events", headers=headers) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].split(";")[0] == "text/event-stream"
        return read_sse(r, stop_after=stop_after)


def test_events_via_sdk_in_order(server):
    client = server.client()
    run = client.task_run.create(
        input="evented", processor="core", enable_events=True, metadata={SLEEP_KEY: 1500}
    )
    events = collect_events(client.task_run.events(run.run_id))
    types = [e.type for e in events]
    assert types, "no events"
    assert types[-1] == "task_run.state", types
    assert events[-1].run.status == "completed" and events[-1].run.is_active is False
    for needed in ("task_run.progress_msg.plan", "task_run.progress_stats", "task_run.progress_msg.result"):
        assert needed in types, (needed, types)
    assert types.index("task_run.progress_msg.plan") < types.index("task_run.progress_msg.result"), types
    assert types.index("task_run.progress_msg.result") < len(types) - 1
    meters = [e.progress_meter for e in events if e.type == "task_run.progress_stats"]
    assert all(0 <= m <= 100 for m in meters) and meters == sorted(meters), meters
    assert all(e.message for e in events if e.type.startswith(PROGRESS_MSG))
    # only one terminal state event, and it is last
    terminal_states = [e for e in events if e.type == "task_run.state" and e.run.status in TERMINAL]
    assert len(terminal_states) == 1, types


def test_events_have_unique_ids_and_resume_after_end(server):
    http = server.http()
    client = server.client()
    run = client.task_run.create(input="resume", processor="lite", enable_events=True)
    client.task_run.result(run.run_id, api_timeout=30)
    full = _stream(http, run.run_id)
    assert len(full) >= 4, full
    ids = [f.id for f in full]
    assert all(ids), f"every frame needs an id: {full}"
    assert len(set(ids)) == len(ids), ids
    assert full[-1].type == "task_run.state"
    # the same replay again
    assert [f.key() for f in _stream(http, run.run_id)] == [f.key() for f in full]
    for k in range(len(full)):
        resumed = _stream(http, run.run_id, last_event_id=full[k].id)
        assert [f.key() for f in resumed] == [f.key() for f in full[k + 1 :]], k


def test_events_resume_mid_run_loses_and_repeats_nothing(server):
    http = server.http()
    client = server.client()
    run = client.task_run.create(
        input="live resume", processor="lite", enable_events=True, metadata={SLEEP_KEY: 2000}
    )
    first = _stream(http, run.run_id, stop_after=1)
    assert len(first) == 1 and first[0].id
    assert client.task_run.retrieve(run.run_id).is_active, "run ended before the reconnect; the test proves nothing"
    rest = _stream(http, run.run_id, last_event_id=first[0].id)
    full = _stream(http, run.run_id)
    assert [f.key() for f in first + rest] == [f.key() for f in full]
    assert rest and rest[-1].type == "task_run.state" and rest[-1].json["run"]["status"] == "completed"
    assert any(f.type and f.type.startswith(PROGRESS_MSG) for f in rest), rest


def test_events_stream_of_failed_run_ends_failed(server):
    client = server.client()
    run = client.task_run.create(
        input="fail stream", processor="lite", enable_events=True, metadata={FAIL_KEY: "stream failure"}
    )
    events = collect_events(client.task_run.events(run.run_id))
    states = [e for e in events if e.type == "task_run.state"]
    assert states, [e.type for e in events]
    final = states[-1]
    assert final.run.status == "failed" and final.run.error.message == "stream failure"
    assert events.index(final) >= len(events) - 2  # at most an `error` event after it
    assert all(e.type == "error" for e in events[events.index(final) + 1 :])


@pytest.mark.parametrize(
    "processor,enable_events,expect_progress",
    [
        ("lite", None, False),
        ("core2x", None, False),
        ("lite", True, True),
        ("pro", None, True),
        ("ultra8x", None, True),
        ("pro", False, False),
    ],
)
def test_events_enabled_by_flag_or_premium_processor(server, processor, enable_events, expect_progress):
    client = server.client()
    kwargs = {} if enable_events is None else {"enable_events": enable_events}
    run = client.task_run.create(input="flags", processor=processor, **kwargs)
    events = collect_events(client.task_run.events(run.run_id))
    types = [e.type for e in events]
    assert types and types[-1] == "task_run.state" and events[-1].run.status == "completed", types
    has_progress = any(t.startswith(PROGRESS_MSG) for t in types)
    assert has_progress == expect_progress, types
