"""Parallel's output-schema rules, through the official SDK on both storage backends.

- Refusals: every rule of Parallel's Task Spec guide is a 422 whose `detail.pointer` names the
  offending place in the body (`/task_spec/output_schema/json_schema/properties/price/minimum`),
  for single runs and for task group adds (an input's own spec, `/inputs/3/…`, or the
  `default_task_spec`, `/default_task_spec/…`), under `/v1` and `/v1beta`; and a refused
  request creates nothing. The limits are inclusive: exactly at each limit is accepted.
- Warnings: a field left out of `required` and an object without `additionalProperties:
  false` are `spec_validation_warning`s on the run from the create answer on, in every way
  the run is read (retrieve, result, events, the group's runs stream), before and after it
  completes.
- Fields no source states: a real research server (no `--scripted-processor`) over a local
  index of a few pages returns the fallback a field's description asks for, else null with a
  warning naming the field, after the spec's own warnings.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import parallel
import pytest

from support import assert_error, clean_env, collect_events, compact, TERMINAL, wait_until

SCHEMA_AT = "/task_spec/output_schema/json_schema"
# Each unsupported keyword, with a value that is valid JSON Schema (so it is the rule that
# refuses it, not the schema compiler).
UNSUPPORTED = {
    "contains": {"type": "number"}, "format": "email", "maxContains": 2, "maxItems": 2,
    "maxLength": 2, "maxProperties": 2, "maximum": 2, "minContains": 1, "minItems": 1,
    "minLength": 1, "minimum": 0, "minProperties": 1, "multipleOf": 2, "pattern": "^a",
    "patternProperties": {"^a": {"type": "string"}}, "propertyNames": {"pattern": "^a"},
    "uniqueItems": True, "unevaluatedItems": False, "unevaluatedProperties": False,
}


# --------------------------------------------------------------------------------------
# schemas
# --------------------------------------------------------------------------------------


def obj(properties: dict) -> dict:
    """A compliant object schema: every property required, no other property allowed."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def nested(levels: int) -> dict:
    """A compliant schema `levels` objects deep (the root is level 1), through property `p`."""
    schema = {"type": "string"}
    for _ in range(levels):
        schema = obj({"p": schema})
    return schema


def deep_pointer(levels: int) -> str:
    return SCHEMA_AT + "/properties/p" * (levels - 1)


def many_properties(n: int) -> dict:
    return obj({f"f{i}": {"type": "string"} for i in range(n)})


def many_enum_values(first: int, second: int) -> dict:
    return obj({
        "a": {"type": "string", "enum": [f"a{i}" for i in range(first)]},
        "b": {"type": "array", "items": {"type": "string", "enum": [f"b{i}" for i in range(second)]}},
    })


def json_spec(schema: dict) -> dict:
    return {"output_schema": {"type": "json", "json_schema": schema}}


def chars(value) -> int:
    """Characters of a value as the limits count them: a string's text, else its compact JSON."""
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def spec_of_size(n: int) -> dict:
    """A compliant JSON task spec of exactly `n` characters."""
    spec = json_spec(obj({"a": {"type": "string", "description": ""}}))
    spec["output_schema"]["json_schema"]["properties"]["a"]["description"] = "d" * (n - chars(spec))
    assert chars(spec) == n
    return spec


# (id, task_spec, input, pointer of the first error)
REFUSED = [
    ("root-not-object", json_spec({"type": "array", "items": {"type": "string"}}), "x", SCHEMA_AT + "/type"),
    ("root-without-properties", json_spec({"type": "object"}), "x", SCHEMA_AT + "/properties"),
    ("root-anyof", json_spec({"type": "object", "properties": {}, "anyOf": [{"required": ["a"]}]}), "x", SCHEMA_AT + "/anyOf"),
    ("standalone-null", json_spec(obj({"note": {"type": "null"}})), "x", SCHEMA_AT + "/properties/note/type"),
    ("null-in-oneof", json_spec(obj({"ceo": {"oneOf": [{"type": "string"}, {"type": "null"}]}})), "x", SCHEMA_AT + "/properties/ceo/oneOf/1/type"),
    ("six-levels", json_spec(nested(6)), "x", deep_pointer(6)),
    ("101-properties", json_spec(many_properties(101)), "x", SCHEMA_AT + "/properties/f100"),
    ("501-enum-values", json_spec(many_enum_values(250, 251)), "x", SCHEMA_AT + "/properties/b/items/enum"),
    ("spec-15001-chars", spec_of_size(15_001), "x", "/task_spec"),
    ("spec-and-input-25001-chars", spec_of_size(15_000), "é" * 10_001, "/input"),
    ("keyword-in-items", json_spec(obj({"tags": {"type": "array", "items": {"type": "string", "maxLength": 9}}})), "x", SCHEMA_AT + "/properties/tags/items/maxLength"),
    ("keyword-in-anyof-branch", json_spec(obj({"ceo": {"anyOf": [{"type": "string", "pattern": "^A"}, {"type": "null"}]}})), "x", SCHEMA_AT + "/properties/ceo/anyOf/0/pattern"),
    ("keyword-in-defs", json_spec({**obj({"p": {"$ref": "#/$defs/money"}}), "$defs": {"money": {"type": "number", "minimum": 0}}}), "x", SCHEMA_AT + "/$defs/money/minimum"),
    ("keyword-in-additional-properties", json_spec(obj({"m": {"type": "object", "additionalProperties": {"type": "number", "multipleOf": 5}}})), "x", SCHEMA_AT + "/properties/m/additionalProperties/multipleOf"),
] + [
    (f"keyword-{k}", json_spec(obj({"price": {"type": "number", k: v}})), "x", f"{SCHEMA_AT}/properties/price/{k}")
    for k, v in UNSUPPORTED.items()
]

# (id, task_spec, input): exactly at each limit, or keyword-like names that are not keywords.
ACCEPTED = [
    ("five-levels", json_spec(nested(5)), "x"),
    ("100-properties", json_spec(many_properties(100)), "x"),
    ("500-enum-values", json_spec(many_enum_values(250, 250)), "x"),
    ("spec-15000-chars", spec_of_size(15_000), "x"),
    ("spec-and-input-25000-chars", spec_of_size(15_000), "é" * 10_000),
    ("null-in-a-union-or-anyof", json_spec(obj({"a": {"type": ["string", "null"]}, "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]}})), "x"),
    ("keywords-as-names-and-data", json_spec(obj({
        "format": {"type": "string", "description": "File format"},
        "pattern": {"type": "string", "enum": ["minimum", "maxItems"]},
        "minimum": {"type": "string", "default": "x", "examples": ["format"]},
    })), "x"),
]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def pointers(detail: dict) -> list:
    return [e["pointer"] for e in detail["errors"]]


def assert_refused_at(err_or_resp, pointer: str) -> dict:
    detail = assert_error(err_or_resp, 422)
    assert isinstance(detail, dict), detail
    assert detail["pointer"] == pointer, detail
    assert pointers(detail)[0] == pointer, detail
    assert isinstance(detail["reason"], str) and detail["reason"].strip(), detail
    return detail


def wait_terminal(client: parallel.Parallel, run_id: str):
    return wait_until(
        lambda: (lambda r: r if r.status in TERMINAL else None)(client.task_run.retrieve(run_id)),
        60,
        what=f"run {run_id} to end",
    )


def group_count(client: parallel.Parallel, gid: str) -> int:
    return client.task_group.retrieve(gid).status.num_task_runs


def group_log(server, gid: str) -> list:
    """The group's whole event log, raw, read to its end."""
    with server.http().stream("GET", f"/v1/tasks/groups/{gid}/events", headers={"accept": "text/event-stream"}) as r:
        assert r.status_code == 200, r.read()
        return [line for line in r.iter_lines() if line.startswith("data:")]


def spec_warnings(warnings) -> list:
    """(pointer, field) of each spec_validation_warning, in order."""
    out = []
    for w in warnings or []:
        w = w if isinstance(w, dict) else w.to_dict(mode="json")
        if w["type"] == "spec_validation_warning":
            assert w["message"].strip(), w
            out.append((w["detail"]["pointer"], w["detail"]["field"]))
    return out


# --------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,input,pointer", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_create_refuses_with_a_pointer_and_creates_nothing(server, spec, input, pointer):
    client = server.client()
    key = str(uuid.uuid4())
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.task_run.create(input=input, processor="lite", task_spec=spec, extra_headers={"Idempotency-Key": key})
    detail = assert_refused_at(ei.value, pointer)
    keyword = pointer.rsplit("/", 1)[1]
    if keyword in UNSUPPORTED:
        assert detail["reason"].startswith(f'"{keyword}" is not supported'), detail
    # Nothing was recorded under the key: a valid request with it creates a run (had the
    # refused one been kept, this would be a 409 for another body).
    run = client.task_run.create(input="valid", processor="lite", extra_headers={"Idempotency-Key": key})
    assert client.task_run.retrieve_input(run.run_id).input == "valid"


def test_every_failure_is_listed(server):
    schema = {
        "type": "object",
        "anyOf": [],
        "properties": {"a": {"type": "null"}, "b": {"type": "string", "format": "email", "maxLength": 3}},
    }
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        server.client().task_run.create(input="x", processor="lite", task_spec=json_spec(schema))
    detail = assert_refused_at(ei.value, SCHEMA_AT + "/anyOf")
    assert pointers(detail) == [
        SCHEMA_AT + "/anyOf",
        SCHEMA_AT + "/properties/a/type",
        SCHEMA_AT + "/properties/b/format",
        SCHEMA_AT + "/properties/b/maxLength",
    ], detail
    assert all(e["reason"].strip() for e in detail["errors"]), detail


@pytest.mark.parametrize("spec,input", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_limits_are_inclusive(server, spec, input):
    client = server.client()
    run = client.task_run.create(input=input, processor="lite", task_spec=spec)
    assert wait_terminal(client, run.run_id).status == "completed"
    stored = server.http().get(f"/v1/tasks/runs/{run.run_id}/input").json()
    assert stored["task_spec"] == spec and stored["input"] == input


def test_input_schemas_keep_their_keywords_and_inputs_are_still_checked(server):
    """The rules are for output schemas; an input that does not match its schema is refused."""
    client = server.client()
    spec = {
        "input_schema": {"type": "json", "json_schema": {
            "type": "object", "properties": {"year": {"type": "integer", "minimum": 1900}}, "required": ["year"]}},
        "output_schema": "the GDP",
    }
    client.task_run.create(input={"year": 2023}, processor="lite", task_spec=spec)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.task_run.create(input={"year": 1800}, processor="lite", task_spec=spec)
    assert_refused_at(ei.value, "/input/year")


BAD_SPEC = json_spec(obj({"price": {"type": "number", "maximum": 9}}))
GOOD_SPEC = json_spec(obj({"price": {"type": "number"}}))


@pytest.mark.parametrize("prefix", ["/v1", "/v1beta"])
def test_group_adds_refuse_with_pointers_and_create_nothing(server, prefix):
    client = server.client()
    gid = client.task_group.create().task_group_id
    client.task_group.add_runs(gid, inputs=[{"input": "first", "processor": "lite"}])
    count, log = group_count(client, gid), group_log(server, gid)
    http = server.http()
    plain = {"input": "x", "processor": "lite"}
    own_bad = {"input": "y", "processor": "lite", "task_spec": BAD_SPEC}
    cases = [
        ({"inputs": [plain, plain, plain, own_bad]}, f"/inputs/3{SCHEMA_AT}/properties/price/maximum"),
        # A refused default spec is named once, at its own pointer.
        ({"default_task_spec": BAD_SPEC, "inputs": [plain, plain]}, "/default_task_spec/output_schema/json_schema/properties/price/maximum"),
        ({"default_task_spec": spec_of_size(15_001), "inputs": [plain]}, "/default_task_spec"),
        ({"default_task_spec": spec_of_size(15_000), "inputs": [plain, {"input": "é" * 10_001, "processor": "lite"}]}, "/inputs/1/input"),
    ]
    for body, pointer in cases:
        r = http.post(f"{prefix}/tasks/groups/{gid}/runs", content=compact(body), headers={"content-type": "application/json"})
        detail = assert_refused_at(r, pointer)
        if "default_task_spec" in body and pointer.startswith("/default_task_spec/output"):
            assert pointers(detail) == [pointer], detail
    # The SDK sees the same.
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.task_group.add_runs(gid, inputs=[plain], default_task_spec=BAD_SPEC)
    assert_refused_at(ei.value, "/default_task_spec/output_schema/json_schema/properties/price/maximum")
    assert group_count(client, gid) == count
    assert group_log(server, gid) == log, "a refused add recorded events"


# --------------------------------------------------------------------------------------
# warnings
# --------------------------------------------------------------------------------------

# Fields "b" (not required) and "hq.city" (not required); objects: the root and "hq" are open.
WARNED_SCHEMA = {
    "type": "object",
    "properties": {
        "a": {"type": "string"},
        "b": {"type": "string"},
        "hq": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
    "required": ["a", "hq"],
}
WARNED = [
    (SCHEMA_AT, ""),
    (SCHEMA_AT + "/properties/b", "b"),
    (SCHEMA_AT + "/properties/hq", "hq"),
    (SCHEMA_AT + "/properties/hq/properties/city", "hq.city"),
]


def test_warnings_are_on_the_run_from_creation_and_survive_completion(server):
    client, http = server.client(), server.http()
    key = str(uuid.uuid4())
    body = {"processor": "lite", "input": "warned", "task_spec": json_spec(WARNED_SCHEMA)}
    raw = http.post("/v1/tasks/runs", content=compact(body), headers={"content-type": "application/json", "Idempotency-Key": key})
    assert raw.status_code == 202, raw.text
    assert spec_warnings(raw.json()["warnings"]) == WARNED, raw.json()
    messages = [w["message"] for w in raw.json()["warnings"]]
    assert '"b"' in messages[1] and "required" in messages[1], messages
    assert "additionalProperties" in messages[0], messages
    run_id = raw.json()["run_id"]
    # The replay of the create answer carries them too.
    again = http.post("/v1/tasks/runs", content=compact(body), headers={"content-type": "application/json", "Idempotency-Key": key})
    assert again.json() == raw.json()
    # Through the SDK, strictly validated: before and after the run completes.
    result = client.task_run.result(run_id, api_timeout=60)
    assert result.run.status == "completed"
    assert spec_warnings(result.run.warnings) == WARNED
    assert spec_warnings(client.task_run.retrieve(run_id).warnings) == WARNED
    # Every state event shows them, the first (queued) and the last (completed).
    states = [e for e in collect_events(client.task_run.events(run_id)) if e.type == "task_run.state"]
    assert [s.run.status for s in states][0] == "queued" and states[-1].run.status == "completed", states
    for state in states:
        assert spec_warnings(state.run.warnings) == WARNED, state


def test_a_compliant_schema_has_no_warnings(server):
    client = server.client()
    run = client.task_run.create(input="x", processor="lite", task_spec=json_spec(obj({"a": {"type": "string"}})))
    assert run.warnings is None, run.warnings
    assert wait_terminal(client, run.run_id).warnings is None


def test_group_runs_carry_their_specs_warnings(server):
    client = server.client()
    gid = client.task_group.create().task_group_id
    own = json_spec({**obj({"x": {"type": "string"}}), "additionalProperties": True})
    added = client.task_group.add_runs(
        gid,
        default_task_spec=json_spec(WARNED_SCHEMA),
        inputs=[{"input": "one", "processor": "lite"}, {"input": "two", "processor": "lite", "task_spec": own}],
    )
    first, second = added.run_ids
    assert spec_warnings(client.task_group.retrieve_run(first, task_group_id=gid).warnings) == WARNED
    assert spec_warnings(client.task_group.retrieve_run(second, task_group_id=gid).warnings) == [(SCHEMA_AT, "")]
    collect_events(client.task_group.events(gid))  # ends once every run has ended
    runs = {e.run.run_id: e.run for e in collect_events(client.task_group.get_runs(gid)) if e.type == "task_run.state"}
    assert runs[first].status == "completed" and spec_warnings(runs[first].warnings) == WARNED
    assert spec_warnings(runs[second].warnings) == [(SCHEMA_AT, "")]


# --------------------------------------------------------------------------------------
# fields no source states, on a real research server
# --------------------------------------------------------------------------------------

PAGES = {
    "zorblax.md": "# About Zorblax Robotics\n\nZorblax Robotics makes warehouse robots. "
    "Zorblax Robotics is led by Mirela Okkaday, its chief executive since 2019.\n",
}


@pytest.fixture(scope="module")
def research(server_factory, parallax_bin, tmp_path_factory):
    """A real-pipeline server (extractive: no LLM) whose local index holds PAGES."""
    corpus = tmp_path_factory.mktemp("corpus")
    for name, text in PAGES.items():
        (corpus / name).write_text(text, "utf-8")
    srv = server_factory("sqlite", start=False, scripted=False)
    proc = subprocess.run(
        [str(parallax_bin), "index", "add", "--data-dir", str(srv.data_dir), str(corpus)],
        stdin=subprocess.DEVNULL, capture_output=True, env=clean_env(), timeout=60, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    srv.start()
    yield srv
    srv.stop()


def test_unknown_fields_get_their_stated_fallback_or_null_with_a_warning(research):
    client = research.client()
    schema = {
        "type": "object",
        "properties": {
            "ceo": {"type": "string", "description": "Name of the chief executive"},
            "headquarters": {"type": "string", "description": "City of the head office. If no data found, return 'Unknown'"},
            "employees": {"type": ["integer", "null"], "description": "Number of employees; if unavailable, return 'Unknown'"},
            "ticker": {"type": ["string", "null"], "description": "Stock ticker symbol"},
        },
        "required": ["ceo", "headquarters", "employees"],
        "additionalProperties": False,
    }
    run = client.task_run.create(input="Zorblax Robotics", processor="lite", task_spec=json_spec(schema))
    assert spec_warnings(run.warnings) == [(SCHEMA_AT + "/properties/ticker", "ticker")]
    result = client.task_run.result(run.run_id, api_timeout=60)
    assert result.run.status == "completed", result.run
    assert result.output.content == {"ceo": "Mirela Okkaday", "headquarters": "Unknown", "employees": None, "ticker": None}
    basis = {b.field: b for b in result.output.basis}
    assert basis["headquarters"].confidence == "low" and not basis["headquarters"].citations
    assert "Unknown" in basis["headquarters"].reasoning
    # The spec's warning first, then one per field left null, naming it.
    warnings = [w.to_dict(mode="json") for w in result.run.warnings]
    assert spec_warnings(warnings) == [(SCHEMA_AT + "/properties/ticker", "ticker")]
    assert warnings[0]["type"] == "spec_validation_warning"
    unknown = [w["detail"]["field"] for w in warnings[1:] if w["type"] == "warning"]
    assert unknown == ["employees", "ticker"], warnings
    assert "does not fit" in warnings[1]["message"], warnings
