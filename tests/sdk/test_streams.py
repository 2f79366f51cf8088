"""Event streams that stay quiet for a long time, read by the official SDK.

A real research run (demo corpus in the local index) whose LLM, a scripted OpenAI-compatible
server on loopback, takes 25 s to answer keeps every stream quiet for more than 20 s: longer
than the server's keep-alive interval (15 s). The SDK's SSE decoder keeps the last event id
across events, so a keep-alive that ends with a blank line decodes as an empty event there and
`json.loads("")` fails. These tests read the run's stream and the group's event stream with the
sync and async SDK clients at once, check that each reaches its terminal event, that the
keep-alives really were sent (raw bytes), and that every event validates against the spec's
event schemas. Both backends.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
import jsonschema_rs
import parallel
import pytest

from fake_llm import FakeLLM
from support import BACKENDS, index_add, read_sse

REPO = Path(__file__).resolve().parents[2]
SPEC = json.loads((REPO / "crates" / "api" / "openapi" / "parallel-public-openapi.json").read_text())
# The LLM's answer time: longer than the 15 s keep-alive interval, so a keep-alive is sent
# while each stream is quiet.
LLM_SECONDS = 25
ANSWER = "Quellmoor received its town charter in 1347 [1]."

# Which spec schema each event type of each stream must match.
RUN_STREAM = {
    "task_run.progress_stats": "TaskRunProgressStatsEvent",
    "task_run.progress_msg.plan": "TaskRunProgressMessageEvent",
    "task_run.progress_msg.search": "TaskRunProgressMessageEvent",
    "task_run.progress_msg.result": "TaskRunProgressMessageEvent",
    "task_run.progress_msg.tool_call": "TaskRunProgressMessageEvent",
    "task_run.progress_msg.exec_status": "TaskRunProgressMessageEvent",
    "task_run.state": "TaskRunEvent",
    "error": "ErrorEvent",
}
GROUP_STREAM = {"task_group_status": "TaskGroupStatusEvent", "task_run.state": "TaskRunEvent", "error": "ErrorEvent"}
_VALIDATORS: dict = {}


def spec_violations(payload: dict, mapping: dict) -> list:
    """What is wrong with one event payload against the spec's schema for its type."""
    name = mapping.get(payload.get("type"))
    if name is None:
        return [f"event type {payload.get('type')!r} is not one this stream may send"]
    if name not in _VALIDATORS:
        schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
        _VALIDATORS[name] = jsonschema_rs.validator_for(schema)
    return [f"{name}: {e.message} at {list(e.instance_path)}" for e in _VALIDATORS[name].iter_errors(payload)]


@pytest.fixture(scope="module")
def fake_llm():
    llm = FakeLLM()

    def slow_answer(n, body, sources):
        status, headers, payload, _ = FakeLLM.completion(ANSWER)
        return status, headers, payload, LLM_SECONDS

    llm.scripts["quiet"] = slow_answer
    yield llm
    llm.close()


def quiet_server(server_factory, parallax_bin, backend, fake_llm):
    """A real-pipeline server (no scripted processor) whose index holds the demo corpus and
    whose LLM answers after LLM_SECONDS."""
    srv = server_factory(
        backend,
        start=False,
        scripted=False,
        extra_args=fake_llm.server_args(LLM_SECONDS + 30),
    )
    proc = index_add(parallax_bin, srv.data_dir, str(REPO / "demo" / "corpus"), database_url=srv.database_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    return srv.start()


def timed(events):
    """(arrival time, event) for each event of an SDK stream, to its end."""
    out = []
    with events:
        for event in events:
            out.append((time.monotonic(), event))
    return out


def longest_gap(times: list) -> float:
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_quiet_streams_reach_their_end_through_the_sdk(server_factory, parallax_bin, fake_llm, backend):
    srv = quiet_server(server_factory, parallax_bin, backend, fake_llm)
    client = srv.client()
    group = client.task_group.create()
    gid = group.task_group_id
    added = client.task_group.add_runs(
        gid,
        inputs=[
            {
                "input": "When did Quellmoor receive its town charter? llmcase-quiet",
                "processor": "lite",
                "enable_events": True,
                "task_spec": {"output_schema": "The year of the charter, with a citation"},
            }
        ],
    )
    (run_id,) = added.run_ids
    results: dict = {}
    errors: dict = {}

    def guarded(name, fn):
        try:
            results[name] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors[name] = exc

    async def async_run_events():
        async with parallel.AsyncParallel(
            api_key=srv.key,
            base_url=srv.base_url,
            _strict_response_validation=True,
            max_retries=0,
            http_client=httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(120.0, connect=5.0)),
        ) as aclient:
            out = []
            stream = await aclient.task_run.events(run_id)
            async for event in stream:
                out.append((time.monotonic(), event))
            return out

    def raw_run_events():
        with srv.http().stream("GET", f"/v1beta/tasks/runs/{run_id}/events") as resp:
            assert resp.status_code == 200, resp.read()
            assert resp.headers["content-type"].startswith("text/event-stream")
            body = b"".join(resp.iter_bytes())
        return body

    readers = {
        "run (sync SDK)": lambda: timed(client.task_run.events(run_id)),
        "group (sync SDK)": lambda: timed(client.task_group.events(gid)),
        "run (async SDK)": lambda: asyncio.run(async_run_events()),
        "run (raw bytes)": raw_run_events,
    }
    threads = [threading.Thread(target=guarded, args=(name, fn), daemon=True) for name, fn in readers.items()]
    for t in threads:
        t.start()

    # While the run is active, the runs stream (a listing of the group's runs as they are
    # now, through the same stream helper) ends at once.
    listing = list(client.task_group.get_runs(gid))
    assert [e.run.run_id for e in listing] == [run_id]
    assert listing[0].event_id == "1" and listing[0].run.is_active

    for t in threads:
        t.join(LLM_SECONDS + 60)
    assert not errors, {k: repr(v) for k, v in errors.items()}
    assert all(not t.is_alive() for t in threads), "a stream did not end"
    assert fake_llm.problems == [], fake_llm.problems

    # The run's stream, sync and async: quiet for more than 20 s, then its terminal state
    # with the output, and `event_id` null (a run's own stream has no cursor).
    for name in ("run (sync SDK)", "run (async SDK)"):
        got = results[name]
        gap = longest_gap([t for t, _ in got])
        assert gap > 20, f"{name}: the stream was never quiet for 20 s (longest gap {gap:.1f} s)"
        last = got[-1][1]
        assert last.type == "task_run.state", (name, last)
        assert last.event_id is None
        assert last.run.status == "completed", last.run
        assert last.output is not None and last.output.type == "text"
        assert last.output.content == ANSWER
        assert [e.type for _, e in got].count("task_run.state") >= 2, [e.type for _, e in got]

    # The group's stream: the add, the run's end, the group going idle.
    got = results["group (sync SDK)"]
    gap = longest_gap([t for t, _ in got])
    assert gap > 20, f"group: the stream was never quiet for 20 s (longest gap {gap:.1f} s)"
    types = [e.type for _, e in got]
    assert types == ["task_group_status", "task_run.state", "task_group_status"], types
    assert [e.event_id for _, e in got] == ["1", "2", "3"]
    assert got[1][1].run.run_id == run_id and got[1][1].run.status == "completed"
    assert got[-1][1].status.is_active is False

    # The bytes: keep-alives were sent while quiet, as comment lines never followed by the
    # blank line that would dispatch an empty event; every event matches the spec.
    raw = results["run (raw bytes)"]
    assert b": keep-alive\n" in raw, raw[:2000]
    assert b": keep-alive\n\n" not in raw, "a keep-alive ended with a blank line"
    assert b"\n\n\n" not in raw
    frames = read_sse(httpx.Response(200, content=raw))
    assert frames, raw[:2000]
    for frame in frames:
        assert frame.event == frame.json["type"], frame
        assert spec_violations(frame.json, RUN_STREAM) == [], frame
    for _, event in got:
        assert spec_violations(event.to_dict(mode="json"), GROUP_STREAM) == [], event

    # After the end, the runs stream carries the output when asked.
    final = list(client.task_group.get_runs(gid, include_output=True))
    assert final[0].run.status == "completed" and final[0].output.content == ANSWER
    for event in final:
        assert spec_violations(event.to_dict(mode="json"), GROUP_STREAM) == [], event
