"""Conformance of the Task Group API, judged by the official SDK (strict validation) and raw httpx.

Groups (`POST /v1/tasks/groups`, `GET /v1/tasks/groups/{id}`), adding runs
(`POST …/{id}/runs`), the group's event stream (`GET …/{id}/events`), its run listing
(`GET …/{id}/runs`) and one run through the group (`GET …/{id}/runs/{run_id}`), under `/v1` and
`/v1beta`. Tests on the `server` fixture run once per storage backend; webhooks, SIGKILL
durability and fairness start their own servers, also on both backends.

What every group status must satisfy is checked by `check_status` on every status seen: all
seven counts present, summing to `num_task_runs`, `is_active` agreeing with them. What every
event log must satisfy is checked by `check_event_log`: ids strictly increasing, one
`task_group_status` per add, one terminal `task_run.state` per run, one idle status each time
the group becomes idle.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import socket
import threading
import time
from typing import Optional

import httpx
import parallel
import pytest
from parallel._models import validate_type
from parallel.types import (
    RunInput,
    TaskGroup,
    TaskGroupEventsResponse,
    TaskGroupGetRunsResponse,
    TaskGroupRunResponse,
    TaskRun,
)

from support import (
    BACKENDS,
    FAIL_KEY,
    SLEEP_KEY,
    TERMINAL,
    SseFrame,
    assert_error,
    canon,
    canon_fields,
    collect_events,
    compact,
    new_key,
    read_http_response,
    read_sse,
    wait_until,
)
from test_webhooks import LOG_INFO, PRIVATE, Receiver, assert_delivery, assert_quiet, hook, secret_of

GROUPS = "/v1/tasks/groups"
RUNS = "/v1/tasks/runs"
STATUSES = ("queued", "action_required", "running", "completed", "failed", "cancelling", "cancelled")
ACTIVE = ("queued", "action_required", "running", "cancelling")
NO_SUCH_GROUP = "tgrp_" + "0" * 32
NO_SUCH_RUN = "trun_" + "0" * 32
GROUP_ID_RE = re.compile(r"^tgrp_[0-9a-f]+$")
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
SSE_TIMEOUT = httpx.Timeout(30.0, connect=5.0)  # a stream that stalls fails instead of hanging
JSON_ECHO_SPEC = {
    "output_schema": {
        "type": "json",
        "json_schema": {"type": "object", "properties": {"echo": {"type": "object"}}},
    }
}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def run_input(text, processor: str = "lite", **metadata) -> dict:
    body = {"processor": processor, "input": text}
    if metadata:
        body["metadata"] = metadata
    return body


def parse_ts(value) -> dt.datetime:
    assert isinstance(value, str) and RFC3339_RE.match(value), f"not an RFC 3339 timestamp: {value!r}"
    stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    assert stamp.tzinfo is not None, value
    return stamp


def check_status(status) -> dict:
    """A TaskGroupStatus (raw dict or SDK model) per the contract; returns it as a dict."""
    if not isinstance(status, dict):
        status = status.to_dict(mode="json")
    for field in ("num_task_runs", "task_run_status_counts", "is_active", "status_message", "modified_at"):
        assert field in status, (field, status)
    counts = status["task_run_status_counts"]
    assert isinstance(counts, dict) and set(counts) == set(STATUSES), f"not the seven statuses: {status}"
    assert all(type(v) is int and v >= 0 for v in counts.values()), status
    assert type(status["num_task_runs"]) is int, status
    assert sum(counts.values()) == status["num_task_runs"], f"counts do not add up: {status}"
    assert status["is_active"] is any(counts[s] > 0 for s in ACTIVE), f"is_active disagrees with counts: {status}"
    msg = status["status_message"]
    assert isinstance(msg, str) and msg.strip(), f"status_message must be a non-empty string: {status}"
    parse_ts(status["modified_at"])
    return status


def check_group(body: dict, gid: Optional[str] = None) -> dict:
    """A raw TaskGroup body per the contract (and the SDK's type); returns its status."""
    assert isinstance(body, dict), body
    validate_type(type_=TaskGroup, value=body)
    assert isinstance(body.get("taskgroup_id"), str) and GROUP_ID_RE.match(body["taskgroup_id"]), body
    if gid is not None:
        assert body["taskgroup_id"] == gid, body
    # metadata: as sent (absent, as on runs, when none was sent)
    parse_ts(body.get("created_at"))
    return check_status(body["status"])


def new_group(client: parallel.Parallel, **metadata) -> str:
    group = client.task_group.create(metadata=metadata) if metadata else client.task_group.create()
    check_status(group.status)
    assert GROUP_ID_RE.match(group.task_group_id), group
    return group.task_group_id


def add(client: parallel.Parallel, gid: str, inputs: list, **kw) -> TaskGroupRunResponse:
    """Add runs through the SDK; checks the raw answer (200, all four fields) and the status."""
    raw = client.task_group.with_raw_response.add_runs(gid, inputs=inputs, **kw)
    assert raw.status_code == 200, raw.http_response.text
    body = raw.http_response.json()
    assert set(body) >= {"run_ids", "status", "event_cursor", "run_cursor"}, body
    parsed = raw.parse()
    assert isinstance(parsed, TaskGroupRunResponse)
    assert len(parsed.run_ids) == len(inputs), body
    assert len(set(parsed.run_ids)) == len(inputs), body
    assert all(isinstance(r, str) and r.startswith("trun_") for r in parsed.run_ids), body
    status = check_status(body["status"])
    assert status["num_task_runs"] >= len(inputs), body
    return parsed


def post_json(http: httpx.Client, path: str, payload, **headers) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else compact(payload)
    return http.post(path, content=body, headers={"content-type": "application/json", **headers})


def sse_client(srv, key: Optional[str] = None, **kw) -> httpx.Client:
    return srv.http(key, timeout=SSE_TIMEOUT, **kw)


def _check_event_frame(frame, response_type) -> dict:
    data = frame.json
    assert isinstance(data, dict), frame
    assert data.get("type") != "error", f"the stream sent an error event: {frame}"
    validate_type(type_=response_type, value=data)  # strictly, as the SDK reads it
    eid = data.get("event_id")
    assert isinstance(eid, str) and eid.isdigit(), f"event_id is not a decimal string: {frame}"
    if frame.id is not None:
        assert frame.id == eid, f"SSE id {frame.id!r} differs from event_id {eid!r}"
    return data


def stream_frames(http: httpx.Client, path: str, params: dict, stop_after, response_type, on_frame=None) -> list:
    with http.stream("GET", path, params=params, headers={"accept": "text/event-stream"}) as r:
        if r.status_code != 200:
            r.read()
            pytest.fail(f"GET {path} {params}: expected 200, got {r.status_code}: {r.text[:500]}")
        ctype = r.headers.get("content-type", "")
        assert ctype.split(";")[0].strip() == "text/event-stream", ctype
        frames = read_sse(r, stop_after=stop_after, on_frame=on_frame)
    for f in frames:
        _check_event_frame(f, response_type)
    return frames


def group_events(http, gid, last_event_id=None, timeout=None, stop_after=None, prefix="/v1", on_frame=None) -> list:
    """Raw SSE frames of GET …/events (each checked against the SDK's event type); `on_frame`
    sees each frame as it arrives."""
    params = {}
    if last_event_id is not None:
        params["last_event_id"] = last_event_id
    if timeout is not None:
        params["timeout"] = timeout
    return stream_frames(http, f"{prefix}/tasks/groups/{gid}/events", params, stop_after, TaskGroupEventsResponse, on_frame)


def group_runs(http, gid, last_event_id=None, status=None, include_input=None, include_output=None, prefix="/v1") -> list:
    """Raw SSE frames of GET …/runs (each checked against the SDK's event type)."""
    params = {}
    if last_event_id is not None:
        params["last_event_id"] = last_event_id
    if status is not None:
        params["status"] = status
    if include_input is not None:
        params["include_input"] = "true" if include_input else "false"
    if include_output is not None:
        params["include_output"] = "true" if include_output else "false"
    return stream_frames(http, f"{prefix}/tasks/groups/{gid}/runs", params, None, TaskGroupGetRunsResponse)


def keys(frames) -> list:
    """What must be identical between two reads of a stream: ids and parsed data, exactly."""
    return [(f.json["event_id"], canon(f.json)) for f in frames]


def sdk_events(client, gid, **kw) -> list:
    events = collect_events(client.task_group.events(gid, **kw))
    for e in events:
        assert e.type != "error", e
    return events


def wait_idle(client, gid) -> list:
    """Read the group's event stream to its end (it ends once the group is idle); the group
    must then be idle. Returns the SDK events."""
    t0 = time.monotonic()
    events = sdk_events(client, gid)
    group = client.task_group.retrieve(gid)
    assert check_status(group.status)["is_active"] is False, (
        f"the event stream ended after {time.monotonic() - t0:.1f}s while the group is still active: {group.status}"
    )
    return events


def check_event_log(events, gid: str, adds: list, idle_at_end: bool = True) -> int:
    """The whole recorded log of a group (raw dicts, frames or SDK events, from the start)
    against the adds made (a list of run_id lists, in order). Returns how many idle status
    events it has."""
    data = []
    for e in events:
        if isinstance(e, SseFrame):
            data.append(e.json)
        elif isinstance(e, dict):
            data.append(e)
        else:
            data.append(e.to_dict(mode="json"))
    ids = [int(d["event_id"]) for d in data]
    assert all(a < b for a, b in zip(ids, ids[1:])), f"event ids not strictly increasing: {ids}"
    pending: set = set()
    done: set = set()
    added = 0
    n_add = 0
    idles = 0
    since_idle = True  # something happened since the last idle event (or the start)
    for d in data:
        if d["type"] == "task_group_status":
            st = check_status(d["status"])
            if st["is_active"]:
                assert n_add < len(adds), f"more add status events than adds ({len(adds)}): {data}"
                added += len(adds[n_add])
                pending |= set(adds[n_add])
                n_add += 1
                assert st["num_task_runs"] == added, (added, d)
                since_idle = True
            else:
                assert since_idle, f"two idle status events without an add between them: {data}"
                assert not pending, f"idle status event before the terminal events of {pending}: {data}"
                assert st["num_task_runs"] == added and added > 0, (added, d)
                ended = sum(st["task_run_status_counts"][s] for s in TERMINAL)
                assert ended == added, d
                idles += 1
                since_idle = False
        elif d["type"] == "task_run.state":
            assert d.get("input") is None and d.get("output") is None, f"input/output in the group event stream: {d}"
            run = d["run"]
            rid = run["run_id"]
            assert rid not in done, f"a second terminal event for {rid}: {data}"
            assert rid in pending, f"terminal event for {rid} before its add's status event (or not ours): {data}"
            pending.discard(rid)
            done.add(rid)
            assert run["status"] in TERMINAL and run["is_active"] is False, d
            assert run.get("taskgroup_id") == gid, d
        else:
            pytest.fail(f"unexpected event type in the group stream: {d}")
    assert n_add == len(adds), f"{n_add} add status events for {len(adds)} adds: {data}"
    if idle_at_end:
        assert not pending, f"no terminal event for {pending}"
        assert data and data[-1]["type"] == "task_group_status" and data[-1]["status"]["is_active"] is False, data[-1:]
    return idles


def poll_counts(http: httpx.Client, gid: str, stop: threading.Event, out: list, prefix: str = "/v1") -> None:
    """Retrieve the group as fast as possible until `stop`, recording every status."""
    while not stop.is_set():
        r = http.get(f"{prefix}/tasks/groups/{gid}")
        out.append((r.status_code, r.text))
        time.sleep(0.005)  # a pace, not a wait: leaves the server's cores to the runs


# --------------------------------------------------------------------------------------
# create and retrieve
# --------------------------------------------------------------------------------------


def test_create_and_retrieve_group(server):
    client = server.client()
    meta = {"batch": "q3", "n": 3, "ratio": 0.5, "urgent": True}
    raw = client.task_group.with_raw_response.create(metadata=meta)
    assert raw.status_code == 200, raw.http_response.text
    body = raw.http_response.json()
    status = check_group(body)
    assert canon(body["metadata"], ordered=False) == canon(meta, ordered=False), body
    assert status["num_task_runs"] == 0 and status["is_active"] is False, status
    assert all(v == 0 for v in status["task_run_status_counts"].values()), status
    group = raw.parse()
    assert isinstance(group, TaskGroup) and group.task_group_id == body["taskgroup_id"]
    gid = group.task_group_id

    got = client.task_group.retrieve(gid)
    assert isinstance(got, TaskGroup)
    assert got.task_group_id == gid and got.created_at == group.created_at and got.metadata == meta
    check_status(got.status)
    r = server.http().get(f"{GROUPS}/{gid}")
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == "application/json", r.text
    check_group(r.json(), gid)
    assert canon(r.json()["metadata"], ordered=False) == canon(meta, ordered=False)
    # ids are unique
    assert new_group(client) != gid


def test_create_group_without_metadata(server):
    client = server.client()
    group = client.task_group.create()
    assert group.metadata is None or group.metadata == {}, group
    check_status(group.status)
    http = server.http()
    ids = {group.task_group_id}
    for payload in ({}, {"metadata": None}):
        r = post_json(http, GROUPS, payload)
        assert r.status_code == 200, (payload, r.text)
        check_group(r.json())
        ids.add(r.json()["taskgroup_id"])
    assert len(ids) == 3, ids


def test_group_metadata_limits_are_inclusive(server):
    meta = {"k" * 16: "v" * 512, "n": 1e300, "i": -7, "b": False, "s": ""}
    r = post_json(server.http(), GROUPS, {"metadata": meta})
    assert r.status_code == 200, r.text
    check_group(r.json())
    assert canon(r.json()["metadata"], ordered=False) == canon(meta, ordered=False)
    got = server.http().get(f"{GROUPS}/{r.json()['taskgroup_id']}").json()
    assert canon(got["metadata"], ordered=False) == canon(meta, ordered=False)


BAD_METADATA = [
    ("key-17", {"k" * 17: "v"}),
    ("value-513", {"k": "v" * 513}),
    ("value-object", {"k": {"a": 1}}),
    ("value-array", {"k": [1]}),
    ("value-null", {"k": None}),
    ("not-object", "k=v"),
    ("array", [{"k": "v"}]),
]


@pytest.mark.parametrize("metadata", [m for _, m in BAD_METADATA], ids=[i for i, _ in BAD_METADATA])
def test_invalid_group_metadata_is_422_with_pointer(server, metadata):
    detail = assert_error(post_json(server.http(), GROUPS, {"metadata": metadata}), 422)
    assert isinstance(detail, dict), detail
    ptr = detail.get("pointer")
    assert ptr == "/metadata" or (isinstance(ptr, str) and ptr.startswith("/metadata/")), detail
    assert isinstance(detail.get("reason"), str) and detail["reason"].strip(), detail


def test_invalid_group_metadata_via_sdk(server):
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        server.client().task_group.create(metadata={"a_key_that_is_too_long": "v"})
    detail = assert_error(ei.value, 422)
    assert detail["pointer"].startswith("/metadata"), detail


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"text"', b"42", b"null", b"not json", b'{"metadata": '],
    ids=["array", "string", "number", "null", "garbage", "truncated"],
)
def test_create_group_non_object_body_is_422(server, body):
    assert_error(post_json(server.http(), GROUPS, body), 422)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None], ids=["text", "form", "none"])
def test_create_group_wrong_content_type_is_422(server, ctype):
    headers = {} if ctype is None else {"content-type": ctype}
    assert_error(server.http().post(GROUPS, content=b"{}", headers=headers), 422)


# --------------------------------------------------------------------------------------
# auth, tenancy, unknown ids
# --------------------------------------------------------------------------------------


def _group_endpoints(gid: str, run_id: str):
    return [
        ("GET", f"/tasks/groups/{gid}", None),
        ("POST", f"/tasks/groups/{gid}/runs", {"inputs": [run_input("sneaky")]}),
        ("GET", f"/tasks/groups/{gid}/events", None),
        ("GET", f"/tasks/groups/{gid}/runs", None),
        ("GET", f"/tasks/groups/{gid}/runs/{run_id}", None),
    ]


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "pk_wrong"}, {"authorization": "Bearer pk_wrong"}, {"x-api-key": ""}],
    ids=["missing", "wrong-x-api-key", "wrong-bearer", "empty"],
)
def test_bad_credentials_are_401_on_every_group_endpoint(server, headers):
    client = server.client()
    gid = new_group(client)
    rid = add(client, gid, [run_input("auth")]).run_ids[0]
    # one connection per request: whether a connection survives a refused POST is
    # test_refused_post_leaves_the_connection_usable's business
    http = server.http(auth=False, limits=httpx.Limits(max_keepalive_connections=0))
    for prefix in ("/v1", "/v1beta"):
        r = http.post(f"{prefix}/tasks/groups", content=b"{}", headers={"content-type": "application/json", **headers})
        assert_error(r, 401)
        for method, path, body in _group_endpoints(gid, rid) + _group_endpoints(NO_SUCH_GROUP, NO_SUCH_RUN):
            kw = {"content": compact(body), "headers": {"content-type": "application/json", **headers}} if body else {"headers": headers}
            assert_error(http.request(method, prefix + path, **kw), 401)
    with pytest.raises(parallel.AuthenticationError):
        server.client(new_key()).task_group.create()
    assert client.task_group.retrieve(gid).status.num_task_runs == 1


def _post_refused_then_get(srv, post_path: str, body: bytes, get_path: str, body_after_answer: bool) -> tuple:
    """On one raw connection: a POST with a wrong key, then a GET with the right key. With
    `body_after_answer`, the POST's body is sent only once its 401 has arrived: the refusal
    provably came before the body was read. Returns (POST status, POST said close, GET outcome)."""
    url = httpx.URL(srv.base_url)
    head = (
        f"POST {post_path} HTTP/1.1\r\nhost: {url.host}\r\nx-api-key: pk_wrong\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        try:
            sock.sendall(head if body_after_answer else head + body)
            first = read_http_response(sock)
        except TimeoutError:
            return None, False, "no answer to the POST within 10 s (with its body unsent: the server waits for it)"
        except OSError as exc:
            return None, False, f"the POST's own answer was lost: {exc!r}"
        if first is None:
            return None, False, "the POST got no answer"
        status, headers, _ = first
        closing = "close" in headers.get("connection", "").lower()
        if closing:
            return status, True, "not sent (the server said connection: close)"
        try:
            if body_after_answer:
                sock.sendall(body)
            sock.sendall(f"GET {get_path} HTTP/1.1\r\nhost: {url.host}\r\nx-api-key: {srv.key}\r\n\r\n".encode())
            second = read_http_response(sock)
        except OSError as exc:
            return status, False, repr(exc)
        return status, False, "connection closed, no answer" if second is None else second[0]


def test_refused_post_leaves_the_connection_usable(server):
    """A POST refused with 401 before its body was read must not leave a keep-alive
    connection that is silently dead: the server either says `connection: close` or answers the
    next request on it. (The SDK here has no retries, so a silently closed connection is an
    error its user sees.) Checked deterministically on a raw socket whose body is sent only
    after the 401 has arrived, and as httpx sends requests, many times."""
    client = server.client()
    gid = new_group(client)
    body = compact({"inputs": [run_input("refused")]})
    for body_after_answer in (False, True):
        status, closing, outcome = _post_refused_then_get(
            server, f"{GROUPS}/{gid}/runs", body, f"{GROUPS}/{gid}", body_after_answer
        )
        when = "after the 401" if body_after_answer else "with the headers"
        assert status == 401, (when, status, outcome)
        assert closing or outcome == 200, (
            f"body sent {when}: the 401 carried no `connection: close`, and the next request on "
            f"the connection got: {outcome}"
        )
    http = server.http(auth=False)
    lost = []
    for i in range(300):
        r = http.post(f"{GROUPS}/{gid}/runs", content=body, headers={"content-type": "application/json", "x-api-key": "pk_wrong"})
        assert r.status_code == 401, r.text
        try:
            nxt = http.get(f"{GROUPS}/{gid}", headers={"x-api-key": server.key})
            assert nxt.status_code == 200, nxt.text
        except httpx.RemoteProtocolError as exc:
            lost.append((i, r.headers.get("connection"), repr(exc)))
    assert not lost, (
        f"{len(lost)} of 300 requests sent after a 401 to POST {GROUPS}/<id>/runs on the same connection "
        f"got no answer (the server closed the connection without `connection: close`): {lost[:3]}"
    )
    assert client.task_group.retrieve(gid).status.num_task_runs == 0


def test_unknown_malformed_and_foreign_groups_are_404(server):
    mine = server.client(server.key)
    gid = new_group(mine, owner="first")
    rid = add(mine, gid, [run_input("private")]).run_ids[0]
    theirs = server.client(server.other_key)
    http = server.http(server.other_key)
    missing_msgs = set()
    for bad in (NO_SUCH_GROUP, gid, "tgrp_zz", "not-a-group", rid):
        for method, path, body in _group_endpoints(bad, rid):
            for prefix in ("/v1", "/v1beta"):
                r = post_json(http, prefix + path, body) if method == "POST" else http.get(prefix + path)
                assert_error(r, 404)
                if bad in (NO_SUCH_GROUP, gid) and method == "GET" and path.count("/") == 3:
                    missing_msgs.add(r.json()["error"]["message"])
    # another tenant's group is indistinguishable from one that does not exist
    assert len(missing_msgs) == 1, missing_msgs
    for call in (
        lambda: theirs.task_group.retrieve(gid),
        lambda: theirs.task_group.add_runs(gid, inputs=[run_input("x")]),
        lambda: theirs.task_group.events(gid),
        lambda: theirs.task_group.get_runs(gid),
        lambda: theirs.task_group.retrieve_run(rid, task_group_id=gid),
        lambda: mine.task_group.retrieve(NO_SUCH_GROUP),
        lambda: mine.task_group.add_runs(NO_SUCH_GROUP, inputs=[run_input("x")]),
        lambda: mine.task_group.events(NO_SUCH_GROUP),
        lambda: mine.task_group.get_runs(NO_SUCH_GROUP),
    ):
        with pytest.raises(parallel.NotFoundError) as ei:
            call()
        assert_error(ei.value, 404)
    # the owner's group is untouched by the other tenant's attempts
    wait_idle(mine, gid)
    assert mine.task_group.retrieve(gid).status.num_task_runs == 1
    assert [f.json["run"]["run_id"] for f in group_runs(sse_client(server), gid)] == [rid]


# --------------------------------------------------------------------------------------
# adding runs
# --------------------------------------------------------------------------------------


def test_add_runs_returns_ids_status_and_cursors(server):
    client = server.client()
    gid = new_group(client, purpose="add")
    inputs = [
        run_input("first"),
        {"processor": "base", "input": {"country": "France", "year": 2023}, "task_spec": JSON_ECHO_SPEC},
        run_input("third", "core", tag="t"),
    ]
    raw = client.task_group.with_raw_response.add_runs(gid, inputs=inputs)
    assert raw.status_code == 200, raw.http_response.text
    body = raw.http_response.json()
    assert set(body) >= {"run_ids", "status", "event_cursor", "run_cursor"}, body
    assert body["event_cursor"] is None and body["run_cursor"] is None, f"cursors of the first add must be null: {body}"
    first = raw.parse()
    status = check_status(body["status"])
    assert status["num_task_runs"] == 3 and len(first.run_ids) == 3 and len(set(first.run_ids)) == 3, body
    # run_ids in input order
    for rid, inp in zip(first.run_ids, inputs):
        got = client.task_run.retrieve_input(rid)
        assert got.input == inp["input"] and got.processor == inp["processor"], (rid, got, inp)

    # a second add (through refresh_status too): cursors are strings now, counts cumulative
    second = add(client, gid, [run_input("fourth"), run_input("fifth")], refresh_status=True)
    assert isinstance(second.event_cursor, str) and second.event_cursor, second
    assert isinstance(second.run_cursor, str) and second.run_cursor, second
    assert second.status.num_task_runs == 5, second.status
    assert not set(second.run_ids) & set(first.run_ids)

    wait_idle(client, gid)
    group = client.task_group.retrieve(gid)
    st = check_status(group.status)
    assert st["num_task_runs"] == 5 and st["task_run_status_counts"]["completed"] == 5, st
    assert parse_ts(st["modified_at"]) >= parse_ts(group.created_at)


def test_group_runs_are_normal_runs(server):
    client = server.client()
    gid = new_group(client)
    inputs = [
        run_input("plain text", meta="m"),
        {"processor": "base", "input": {"country": "France"}, "task_spec": JSON_ECHO_SPEC},
        run_input("doomed", **{FAIL_KEY: "group failure"}),
    ]
    ids = add(client, gid, inputs).run_ids
    wait_idle(client, gid)
    http = server.http()
    for rid, inp in zip(ids, inputs):
        run = client.task_run.retrieve(rid)
        assert isinstance(run, TaskRun) and run.task_group_id == gid and run.run_id == rid, run
        raw = http.get(f"{RUNS}/{rid}").json()
        assert raw["taskgroup_id"] == gid, raw
        assert canon_fields(http.get(f"{RUNS}/{rid}/input").json()) == canon_fields(inp)
        via_group = client.task_group.retrieve_run(rid, task_group_id=gid)
        assert isinstance(via_group, TaskRun)
        graw = http.get(f"{GROUPS}/{gid}/runs/{rid}")
        assert graw.status_code == 200, graw.text
        assert canon_fields(graw.json()) == canon_fields(raw), (graw.json(), raw)
    assert client.task_run.result(ids[0], api_timeout=10).output.content == "echo: plain text"
    res = client.task_run.result(ids[1], api_timeout=10)
    assert res.output.type == "json" and res.output.content == {"echo": {"country": "France"}}
    assert res.run.task_group_id == gid
    failed = client.task_run.retrieve(ids[2])
    assert failed.status == "failed" and failed.error.message == "group failure", failed
    with pytest.raises(parallel.NotFoundError):
        client.task_run.result(ids[2], api_timeout=5)
    st = check_status(client.task_group.retrieve(gid).status)
    assert st["task_run_status_counts"]["completed"] == 2 and st["task_run_status_counts"]["failed"] == 1, st


def test_default_task_spec_fills_inputs_without_one(server):
    client = server.client()
    http = server.http()
    gid = new_group(client)
    a = {"processor": "base", "input": {"country": "France"}}
    b = {"processor": "lite", "input": "own spec", "task_spec": {"output_schema": "A sentence"}}
    c = {"input": {"q": 1}, "processor": "lite", "metadata": {"k": "v"}}
    ids = add(client, gid, [a, b, c], default_task_spec=JSON_ECHO_SPEC).run_ids
    for rid, inp, spec in zip(ids, (a, b, c), (JSON_ECHO_SPEC, b["task_spec"], JSON_ECHO_SPEC)):
        got = http.get(f"{RUNS}/{rid}/input")
        assert got.status_code == 200, got.text
        want = {**inp, "task_spec": spec}
        assert canon_fields(got.json()) == canon_fields(want), (got.json(), want)
        client.task_run.retrieve_input(rid)  # strict parse
    res_a = client.task_run.result(ids[0], api_timeout=30)
    assert res_a.output.type == "json" and res_a.output.content == {"echo": {"country": "France"}}, res_a.output
    res_b = client.task_run.result(ids[1], api_timeout=30)
    assert res_b.output.type == "text" and res_b.output.content == "echo: own spec", res_b.output

    # JSON values of a group's inputs are kept exactly (1.0 vs 1, integers beyond f64)
    raw_input = '{"big":10000000000000000000001,"one":1.0,"small":1.5e-7,"s":"\u00e9\u2713","z":{"b":1,"a":2}}'
    body = ('{"inputs":[{"processor":"lite","input":' + raw_input + '}],"default_task_spec":{"output_schema":"x"}}').encode()
    r = post_json(http, f"{GROUPS}/{gid}/runs", body)
    assert r.status_code == 200, r.text
    exact = http.get(f"{RUNS}/{r.json()['run_ids'][0]}/input")
    assert canon(exact.json()["input"]) == canon(json.loads(raw_input)), exact.text
    assert canon(exact.json()["task_spec"]) == canon({"output_schema": "x"}), exact.text
    ids.append(r.json()["run_ids"][0])

    # without a default_task_spec, an input without task_spec has none
    plain = add(client, gid, [{"processor": "lite", "input": "no spec"}]).run_ids[0]
    body = http.get(f"{RUNS}/{plain}/input").json()
    assert canon_fields(body) == canon_fields({"processor": "lite", "input": "no spec"}), body
    # the run listing's inputs are the same stored inputs
    wait_idle(client, gid)
    frames = group_runs(sse_client(server), gid, include_input=True)
    assert [f.json["run"]["run_id"] for f in frames] == ids + [plain]
    for f in frames:
        stored = http.get(f"{RUNS}/{f.json['run']['run_id']}/input").json()
        assert canon_fields(f.json["input"]) == canon_fields(stored), (f.json["input"], stored)


OBJ_SCHEMA = {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}

BAD_INPUTS = [
    ("missing-processor", {"input": "x"}, "/processor"),
    ("empty-processor", {"processor": "", "input": "x"}, "/processor"),
    ("processor-not-string", {"processor": 5, "input": "x"}, "/processor"),
    ("missing-input", {"processor": "lite"}, "/input"),
    ("input-null", {"processor": "lite", "input": None}, "/input"),
    ("input-number", {"processor": "lite", "input": 42}, "/input"),
    ("metadata-key-17", {"processor": "lite", "input": "x", "metadata": {"k" * 17: "v"}}, "/metadata"),
    ("metadata-value-object", {"processor": "lite", "input": "x", "metadata": {"k": {"a": 1}}}, "/metadata"),
    (
        "source-policy-scheme",
        {"processor": "lite", "input": "x", "source_policy": {"include_domains": ["http://x.com"]}},
        "/source_policy/include_domains",
    ),
    ("task-spec-without-output-schema", {"processor": "lite", "input": "x", "task_spec": {}}, "/task_spec"),
    (
        "output-schema-not-object",
        {"processor": "lite", "input": "x", "task_spec": {"output_schema": {"type": "json", "json_schema": {"type": "string"}}}},
        "/task_spec/output_schema",
    ),
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
    ("webhook-not-http", {"processor": "lite", "input": "x", "webhook": {"url": "ftp://127.0.0.1/hook"}}, "/webhook"),
    ("not-an-object", "just text", ""),
]


def _group_with_one_run(server):
    """A group with one completed run and its whole (idle) event log."""
    client = server.client()
    gid = new_group(client)
    first = add(client, gid, [run_input("before")]).run_ids
    wait_idle(client, gid)
    log = group_events(sse_client(server), gid)
    check_event_log(log, gid, [first])
    return client, gid, first, log


def _assert_nothing_created(server, client, gid, first, log):
    st = check_status(client.task_group.retrieve(gid).status)
    assert st["num_task_runs"] == 1 and st["is_active"] is False, f"a refused add changed the group: {st}"
    http = sse_client(server)
    assert [f.json["run"]["run_id"] for f in group_runs(http, gid)] == first
    assert keys(group_events(http, gid)) == keys(log), "a refused add recorded events"


@pytest.mark.parametrize("bad,pointer", [(b, p) for _, b, p in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS])
def test_invalid_input_is_422_with_pointer_and_creates_nothing(server, bad, pointer):
    client, gid, first, log = _group_with_one_run(server)
    inputs = [run_input("ok 0"), run_input("ok 1"), bad, run_input("ok 3")]
    r = post_json(server.http(), f"{GROUPS}/{gid}/runs", {"inputs": inputs})
    detail = assert_error(r, 422)
    want = f"/inputs/2{pointer}"
    assert isinstance(detail, dict) and isinstance(detail.get("pointer"), str), r.json()
    assert detail["pointer"] == want or detail["pointer"].startswith(want + "/"), (want, detail)
    assert isinstance(detail.get("reason"), str) and detail["reason"].strip(), detail
    _assert_nothing_created(server, client, gid, first, log)


def test_invalid_input_via_sdk_is_unprocessable(server):
    client, gid, first, log = _group_with_one_run(server)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.task_group.add_runs(gid, inputs=[run_input("ok"), {"processor": "lite", "input": "x", "metadata": {"k" * 20: 1}}])
    detail = assert_error(ei.value, 422)
    assert detail["pointer"].startswith("/inputs/1/metadata"), detail
    _assert_nothing_created(server, client, gid, first, log)


@pytest.mark.parametrize("processor", ["turbo", "ultra16x", "lite-slow"])
def test_unknown_processor_is_403_with_pointer_and_creates_nothing(server, processor):
    client, gid, first, log = _group_with_one_run(server)
    with pytest.raises(parallel.PermissionDeniedError) as ei:
        client.task_group.add_runs(gid, inputs=[run_input("ok 0"), run_input("bad", processor), run_input("ok 2")])
    detail = assert_error(ei.value, 403)
    assert isinstance(detail, dict) and detail.get("pointer") == "/inputs/1/processor", detail
    _assert_nothing_created(server, client, gid, first, log)


BAD_ADD_BODIES = [
    ("missing-inputs", {}, "/inputs"),
    ("inputs-null", {"inputs": None}, "/inputs"),
    ("inputs-object", {"inputs": {"processor": "lite", "input": "x"}}, "/inputs"),
    ("inputs-string", {"inputs": "x"}, "/inputs"),
]


@pytest.mark.parametrize("body,pointer", [(b, p) for _, b, p in BAD_ADD_BODIES], ids=[i for i, _, _ in BAD_ADD_BODIES])
def test_bad_add_body_is_422_and_creates_nothing(server, body, pointer):
    client, gid, first, log = _group_with_one_run(server)
    detail = assert_error(post_json(server.http(), f"{GROUPS}/{gid}/runs", body), 422)
    assert isinstance(detail, dict) and detail.get("pointer") == pointer, detail
    _assert_nothing_created(server, client, gid, first, log)


def test_malformed_add_body_and_content_type(server):
    client, gid, first, log = _group_with_one_run(server)
    http = server.http()
    path = f"{GROUPS}/{gid}/runs"
    for body in (b"[]", b'"text"', b"not json", b'{"inputs": ['):
        assert_error(post_json(http, path, body), 422)
    good = compact({"inputs": [run_input("x")]})
    for ctype in ("text/plain", None):
        headers = {} if ctype is None else {"content-type": ctype}
        assert_error(http.post(path, content=good, headers=headers), 422)
    _assert_nothing_created(server, client, gid, first, log)


def test_1000_inputs_are_accepted_1001_refused(server):
    client = server.client()
    gid = new_group(client, size="1000")
    http = server.http()
    too_many = {"inputs": [{"processor": "lite", "input": f"{i}"} for i in range(1001)]}
    detail = assert_error(post_json(http, f"{GROUPS}/{gid}/runs", too_many), 422)
    assert isinstance(detail, dict) and detail.get("pointer") == "/inputs", detail
    st = check_status(client.task_group.retrieve(gid).status)
    assert st["num_task_runs"] == 0, f"the refused 1,001 created runs: {st}"
    assert group_runs(sse_client(server), gid) == []

    r = post_json(http, f"{GROUPS}/{gid}/runs", {"inputs": too_many["inputs"][:1000]})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    validate_type(type_=TaskGroupRunResponse, value=body)
    ids = body["run_ids"]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert check_status(body["status"])["num_task_runs"] == 1000
    events = wait_idle(client, gid)
    check_event_log(events, gid, [ids])
    frames = group_runs(sse_client(server), gid)
    assert [f.json["run"]["run_id"] for f in frames] == ids
    positions = [int(f.json["event_id"]) for f in frames]
    assert positions[0] in (0, 1) and positions == list(range(positions[0], positions[0] + 1000)), positions[:5]
    st = check_status(client.task_group.retrieve(gid).status)
    assert st["task_run_status_counts"]["completed"] == 1000, st
    # spot check: position i is input i
    for i in (0, 499, 999):
        assert client.task_run.retrieve_input(ids[i]).input == f"{i}"


def test_runs_added_while_the_group_is_running(server):
    client = server.client()
    gid = new_group(client)
    before = client.task_group.retrieve(gid).status
    slow = add(client, gid, [run_input("slow", **{SLEEP_KEY: 1500})]).run_ids
    assert client.task_group.retrieve(gid).status.is_active
    # a reader connected live before the second add sees it too: it has read the first add's
    # event before the second add is made
    live: list = []
    caught_up = threading.Event()

    def on_frame(frame):
        if frame.json["type"] == "task_group_status":
            caught_up.set()

    reader = threading.Thread(
        target=lambda: live.extend(group_events(sse_client(server), gid, on_frame=on_frame)), daemon=True
    )
    reader.start()
    assert caught_up.wait(10), "the live reader got no event of the first add"
    more = add(client, gid, [run_input(f"more {i}") for i in range(3)])
    assert more.status.num_task_runs == 4 and more.status.is_active, more.status
    assert client.task_run.retrieve(slow[0]).is_active, "the slow run ended before the second add; the test proves nothing"
    events = wait_idle(client, gid)
    assert check_event_log(events, gid, [slow, more.run_ids]) == 1
    reader.join(30)
    assert not reader.is_alive(), "the live stream did not end once the group was idle"
    assert keys(live) == keys(group_events(sse_client(server), gid)), "the live reader's log differs from the replay"
    group = client.task_group.retrieve(gid)
    st = check_status(group.status)
    assert st["task_run_status_counts"]["completed"] == 4, st
    assert parse_ts(st["modified_at"]) > parse_ts(before.modified_at), (before, st)


def test_concurrent_adds_each_get_their_own_status_event_and_cursors(server):
    client = server.client()
    gid = new_group(client)
    seed = add(client, gid, [run_input("seed", **{SLEEP_KEY: 1500})]).run_ids
    n_threads, per_add = 8, 5
    results: list = []
    errors: list = []
    barrier = threading.Barrier(n_threads)

    def adder(t: int):
        c = server.client()
        barrier.wait()
        try:
            results.append(add(c, gid, [run_input(f"t{t} r{i}", **{SLEEP_KEY: 100}) for i in range(per_add)]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=adder, args=(t,), daemon=True) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == n_threads
    wait_idle(client, gid)
    http = sse_client(server)
    full = group_events(http, gid)
    # the adds as the log orders them: by their status events' totals, which must all differ
    totals = sorted(r.status.num_task_runs for r in results)
    assert totals == [1 + per_add * (k + 1) for k in range(n_threads)], f"add responses overlap: {totals}"
    ordered = sorted(results, key=lambda r: r.status.num_task_runs)
    assert check_event_log(full, gid, [seed] + [r.run_ids for r in ordered]) == 1
    listing = [f.json["run"]["run_id"] for f in group_runs(http, gid)]
    assert listing == seed + [rid for r in ordered for rid in r.run_ids], "each add's runs are not contiguous in add order"
    for r in ordered:
        assert isinstance(r.event_cursor, str) and isinstance(r.run_cursor, str), r
        resumed = group_events(http, gid, last_event_id=r.event_cursor)
        head = resumed[0].json
        assert head["type"] == "task_group_status" and head["status"]["num_task_runs"] == r.status.num_task_runs, (r, head)
        runs_after = [f.json["run"]["run_id"] for f in group_runs(http, gid, last_event_id=r.run_cursor)]
        assert runs_after[: len(r.run_ids)] == r.run_ids, (r.run_cursor, runs_after[:per_add], r.run_ids)


# --------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------


def test_events_of_an_empty_group_end_at_once(server):
    client = server.client()
    gid = new_group(client)
    t0 = time.monotonic()
    assert group_events(sse_client(server), gid) == []
    assert sdk_events(client, gid) == []
    assert time.monotonic() - t0 < 5


def test_event_log_replays_identically(server):
    client = server.client()
    http = sse_client(server)
    gid = new_group(client)
    inputs = [
        run_input("a", **{SLEEP_KEY: 300}),
        run_input("b", **{FAIL_KEY: "b failed", SLEEP_KEY: 100}),
        run_input("c", **{SLEEP_KEY: 200}),
    ]
    ids = add(client, gid, inputs).run_ids
    events = wait_idle(client, gid)
    assert check_event_log(events, gid, [ids]) == 1
    assert len(events) == 5, [e.type for e in events]  # add status, three terminal runs, idle status
    assert events[0].type == "task_group_status" and events[0].status.num_task_runs == 3
    final = check_status(events[-1].status)
    assert final["task_run_status_counts"]["completed"] == 2 and final["task_run_status_counts"]["failed"] == 1, final
    by_run = {e.run.run_id: e for e in events if e.type == "task_run.state"}
    assert set(by_run) == set(ids)
    assert by_run[ids[1]].run.status == "failed" and by_run[ids[1]].run.error.message == "b failed"
    # the runs in the events are the runs as they are now (they ended)
    raw_http = server.http()
    for rid in ids:
        now = raw_http.get(f"{RUNS}/{rid}").json()
        assert by_run[rid].run.to_dict(mode="json") == validate_type(type_=TaskRun, value=now).to_dict(mode="json")

    frames = group_events(http, gid)
    assert [f.json for f in frames] == [e.to_dict(mode="json") for e in events]
    assert keys(group_events(http, gid)) == keys(frames)
    assert keys(group_events(http, gid, prefix="/v1beta")) == keys(frames)
    assert [e.to_dict(mode="json") for e in sdk_events(client, gid)] == [e.to_dict(mode="json") for e in events]
    for f in frames:
        if f.json["type"] == "task_run.state":
            assert "input" not in f.json and "output" not in f.json, f


def test_events_resume_at_every_cursor(server):
    client = server.client()
    http = sse_client(server)
    gid = new_group(client)
    first = add(client, gid, [run_input(f"r{i}", **{SLEEP_KEY: 50 * i}) for i in range(4)]).run_ids
    wait_idle(client, gid)
    second = add(client, gid, [run_input("again")]).run_ids
    wait_idle(client, gid)
    full = group_events(http, gid)
    assert check_event_log(full, gid, [first, second]) == 2
    # status, four ends, idle; status, one end, idle
    assert len(full) == 9, [f.json["type"] for f in full]
    for k in range(len(full)):
        resumed = group_events(http, gid, last_event_id=full[k].json["event_id"])
        assert keys(resumed) == keys(full[k + 1 :]), k
    # via the SDK too
    mid = full[3].json["event_id"]
    sdk = [e.to_dict(mode="json") for e in sdk_events(client, gid, last_event_id=mid)]
    assert sdk == [f.json for f in full[4:]]
    # from "0": everything after 0
    assert keys(group_events(http, gid, last_event_id="0")) == keys([f for f in full if int(f.json["event_id"]) > 0])


def test_events_resume_mid_stream_loses_and_repeats_nothing(server):
    client = server.client()
    http = sse_client(server)
    gid = new_group(client)
    ids = add(client, gid, [run_input("quick")] + [run_input(f"slow {i}", **{SLEEP_KEY: 1500 + 200 * i}) for i in range(3)]).run_ids
    head = group_events(http, gid, stop_after=2)  # the add's status and the quick run's end
    assert [f.json["type"] for f in head] == ["task_group_status", "task_run.state"], head
    assert head[1].json["run"]["run_id"] == ids[0]
    assert client.task_group.retrieve(gid).status.is_active, "the group ended before the reconnect; the test proves nothing"
    t0 = time.monotonic()
    rest = group_events(http, gid, last_event_id=head[-1].json["event_id"])  # live until idle
    assert time.monotonic() - t0 > 0.5, "the resumed stream did not wait for the live events"
    full = group_events(http, gid)
    assert keys(head + rest) == keys(full)
    assert check_event_log(full, gid, [ids]) == 1
    # and one connection read live from the start gives the same log
    gid2 = new_group(client)
    ids2 = add(client, gid2, [run_input(f"live {i}", **{SLEEP_KEY: 300 * (i + 1)}) for i in range(3)]).run_ids
    live = group_events(http, gid2)
    assert check_event_log(live, gid2, [ids2]) == 1
    assert keys(group_events(http, gid2)) == keys(live)


def test_cursors_of_an_add_resume_at_that_add(server):
    client = server.client()
    http = sse_client(server)
    gid = new_group(client)
    first = add(client, gid, [run_input(f"first {i}") for i in range(3)])
    assert first.event_cursor is None and first.run_cursor is None
    wait_idle(client, gid)
    second = add(client, gid, [run_input(f"second {i}", **{SLEEP_KEY: 200}) for i in range(2)])
    third = add(client, gid, [run_input("third")])  # while the second is running
    for resp in (second, third):
        assert isinstance(resp.event_cursor, str) and resp.event_cursor.isdigit(), resp
        assert isinstance(resp.run_cursor, str) and resp.run_cursor.isdigit(), resp
    wait_idle(client, gid)
    full = group_events(http, gid)
    check_event_log(full, gid, [first.run_ids, second.run_ids, third.run_ids])

    for resp, total in ((second, 5), (third, 6)):
        resumed = group_events(http, gid, last_event_id=resp.event_cursor)
        assert keys(resumed) == keys([f for f in full if int(f.json["event_id"]) > int(resp.event_cursor)])
        head = resumed[0].json
        assert head["type"] == "task_group_status" and head["status"]["num_task_runs"] == total, head
        assert not {f.json["run"]["run_id"] for f in resumed if f.json["type"] == "task_run.state"} & set(first.run_ids)

    all_runs = group_runs(http, gid)
    assert [f.json["run"]["run_id"] for f in all_runs] == first.run_ids + second.run_ids + third.run_ids
    for resp, expected in ((second, second.run_ids + third.run_ids), (third, third.run_ids)):
        resumed = group_runs(http, gid, last_event_id=resp.run_cursor)
        assert [f.json["run"]["run_id"] for f in resumed] == expected, resp.run_cursor
        assert keys(resumed) == keys([f for f in all_runs if int(f.json["event_id"]) > int(resp.run_cursor)])
        sdk = [e.run.run_id for e in collect_events(client.task_group.get_runs(gid, last_event_id=resp.run_cursor))]
        assert sdk == expected


def test_each_idle_transition_is_one_status_event(server):
    client = server.client()
    gid = new_group(client)
    adds = []
    for round_ in range(3):
        adds.append(add(client, gid, [run_input(f"round {round_} run {i}") for i in range(2)]).run_ids)
        wait_idle(client, gid)
    events = sdk_events(client, gid)
    assert check_event_log(events, gid, adds) == 3
    assert [e.type for e in events] == ["task_group_status", "task_run.state", "task_run.state", "task_group_status"] * 3
    assert [e.status.num_task_runs for e in events if e.type == "task_group_status"] == [2, 2, 4, 4, 6, 6]


def test_events_timeout_ends_the_stream(server):
    client = server.client()
    http = sse_client(server)
    gid = new_group(client)
    ids = add(client, gid, [run_input("long", **{SLEEP_KEY: 4000})]).run_ids
    t0 = time.monotonic()
    frames = group_events(http, gid, timeout=1)
    elapsed = time.monotonic() - t0
    assert 0.8 <= elapsed < 3.0, f"timeout=1 ended the stream after {elapsed:.2f}s"
    assert [f.json["type"] for f in frames] == ["task_group_status"], frames
    t0 = time.monotonic()
    sdk = sdk_events(client, gid, last_event_id=frames[0].json["event_id"], api_timeout=0.5)
    elapsed = time.monotonic() - t0
    assert sdk == [] and 0.3 <= elapsed < 2.5, (sdk, elapsed)
    assert client.task_group.retrieve(gid).status.is_active
    # without a timeout the stream waits for the end
    rest = group_events(http, gid, last_event_id=frames[0].json["event_id"])
    check_event_log(frames + rest, gid, [ids])


@pytest.mark.parametrize(
    "params",
    [
        {"last_event_id": "abc"},
        {"last_event_id": "-1"},
        {"last_event_id": "1.5"},
        {"last_event_id": "1e3"},
        {"timeout": "-1"},
        {"timeout": "-0.5"},
        {"timeout": "abc"},
        {"timeout": "1s"},
    ],
    ids=["id-abc", "id-negative", "id-float", "id-exp", "timeout-negative", "timeout-negative-float", "timeout-abc", "timeout-unit"],
)
def test_bad_event_params_are_422(server, params):
    client = server.client()
    gid = new_group(client)
    add(client, gid, [run_input("params")])
    for prefix in ("/v1", "/v1beta"):
        assert_error(server.http().get(f"{prefix}/tasks/groups/{gid}/events", params=params), 422)


def test_events_accept_float_timeout(server):
    client = server.client()
    gid = new_group(client)
    ids = add(client, gid, [run_input("float timeout")]).run_ids
    wait_idle(client, gid)
    frames = group_events(sse_client(server), gid, timeout="2.5")
    check_event_log(frames, gid, [ids])


# --------------------------------------------------------------------------------------
# the run listing
# --------------------------------------------------------------------------------------


def _mixed_group(server):
    """A group whose runs are, in order: completed, failed, completed, running."""
    client = server.client()
    gid = new_group(client)
    inputs = [
        {"processor": "base", "input": {"n": 0}, "task_spec": JSON_ECHO_SPEC},
        run_input("one", **{FAIL_KEY: "listing failure"}),
        run_input("two", "core"),
        run_input("three", **{SLEEP_KEY: 6000}),
    ]
    ids = add(client, gid, inputs).run_ids
    want = ["completed", "failed", "completed", "running"]
    wait_until(
        lambda: [client.task_run.retrieve(r).status for r in ids] == want, 10, 0.05, "the runs to be completed, failed, completed, running"
    )
    return client, gid, ids, inputs


def test_run_listing_is_the_current_state_in_order(server):
    client, gid, ids, inputs = _mixed_group(server)
    http = sse_client(server)
    t0 = time.monotonic()
    frames = group_runs(http, gid)
    assert time.monotonic() - t0 < 2.5, "the listing waited for the running run instead of ending"
    assert [f.json["run"]["run_id"] for f in frames] == ids
    assert [f.json["run"]["status"] for f in frames] == ["completed", "failed", "completed", "running"]
    positions = [int(f.json["event_id"]) for f in frames]
    assert positions[0] in (0, 1) and positions == list(range(positions[0], positions[0] + 4)), positions
    raw = server.http()
    for f in frames:
        d = f.json
        assert d["type"] == "task_run.state" and d["run"]["taskgroup_id"] == gid, d
        assert d.get("input") is None and d.get("output") is None, f"input/output without include_*: {d}"
        if d["run"]["status"] in TERMINAL:
            now = raw.get(f"{RUNS}/{d['run']['run_id']}").json()
            assert canon_fields(d["run"]) == canon_fields(now), (d["run"], now)
    # the SDK reads the same thing
    sdk = collect_events(client.task_group.get_runs(gid))
    assert [e.run.run_id for e in sdk] == ids and all(e.type == "task_run.state" for e in sdk)
    assert [e.event_id for e in sdk] == [f.json["event_id"] for f in frames]
    # the group's counts are the listing's statuses counted
    counts = check_status(client.task_group.retrieve(gid).status)["task_run_status_counts"]
    tally = {s: 0 for s in STATUSES}
    for f in group_runs(http, gid):
        tally[f.json["run"]["status"]] += 1
    assert counts == tally, (counts, tally)
    assert counts["running"] == 1


def test_run_listing_status_filter(server):
    client, gid, ids, _ = _mixed_group(server)
    http = sse_client(server)
    full = group_runs(http, gid)
    pos = {f.json["run"]["run_id"]: f.json["event_id"] for f in full}
    for status, want in (
        ("completed", [ids[0], ids[2]]),
        ("failed", [ids[1]]),
        ("running", [ids[3]]),
        ("queued", []),
        ("cancelled", []),
    ):
        frames = group_runs(http, gid, status=status)
        assert [f.json["run"]["run_id"] for f in frames] == want, status
        assert all(f.json["run"]["status"] == status for f in frames)
        assert [f.json["event_id"] for f in frames] == [pos[r] for r in want], "filtered events keep their positions"
        sdk = collect_events(client.task_group.get_runs(gid, status=status))
        assert [e.run.run_id for e in sdk] == want
    # a filter and a cursor together
    after_first = group_runs(http, gid, status="completed", last_event_id=pos[ids[0]])
    assert [f.json["run"]["run_id"] for f in after_first] == [ids[2]]
    for bad in ("done", "Completed", "active"):
        for prefix in ("/v1", "/v1beta"):
            assert_error(server.http().get(f"{prefix}/tasks/groups/{gid}/runs", params={"status": bad}), 422)


def test_run_listing_include_input_and_output(server):
    client, gid, ids, inputs = _mixed_group(server)
    http = sse_client(server)
    raw = server.http()
    frames = group_runs(http, gid, include_input=True, include_output=True)
    assert [f.json["run"]["run_id"] for f in frames] == ids
    for f, inp in zip(frames, inputs):
        d = f.json
        rid = d["run"]["run_id"]
        assert canon_fields(d["input"]) == canon_fields(inp), (d["input"], inp)
        assert canon_fields(d["input"]) == canon_fields(raw.get(f"{RUNS}/{rid}/input").json())
        if d["run"]["status"] == "completed":
            result = raw.get(f"{RUNS}/{rid}/result").json()
            assert canon(d["output"]) == canon(result["output"]), (d["output"], result["output"])
        else:
            assert d.get("output") is None, f"output for a {d['run']['status']} run: {d}"
    assert frames[0].json["output"]["content"] == {"echo": {"n": 0}}
    assert frames[2].json["output"]["content"] == "echo: two"

    only_input = group_runs(http, gid, include_input=True, include_output=False)
    assert all(f.json.get("output") is None and f.json.get("input") is not None for f in only_input)
    only_output = group_runs(http, gid, include_output=True)
    assert all(f.json.get("input") is None for f in only_output)
    assert [f.json.get("output") is not None for f in only_output] == [True, False, True, False]
    # the SDK parses inputs and outputs strictly
    sdk = collect_events(client.task_group.get_runs(gid, include_input=True, include_output=True))
    assert [e.run.run_id for e in sdk] == ids
    assert all(isinstance(e.input, RunInput) for e in sdk)
    assert sdk[0].output.type == "json" and sdk[2].output.type == "text" and sdk[1].output is None


def test_run_listing_resumes_at_every_cursor(server):
    client = server.client()
    http = sse_client(server)
    gid = new_group(client)
    ids = add(client, gid, [run_input(f"r{i}") for i in range(3)]).run_ids
    ids += add(client, gid, [run_input(f"s{i}") for i in range(3)]).run_ids
    wait_idle(client, gid)
    full = group_runs(http, gid, include_input=True, include_output=True)
    assert [f.json["run"]["run_id"] for f in full] == ids
    for k in range(len(full)):
        resumed = group_runs(http, gid, last_event_id=full[k].json["event_id"], include_input=True, include_output=True)
        assert keys(resumed) == keys(full[k + 1 :]), k
    assert keys(group_runs(http, gid, include_input=True, include_output=True)) == keys(full)
    assert keys(group_runs(http, gid, include_input=True, include_output=True, prefix="/v1beta")) == keys(full)


# --------------------------------------------------------------------------------------
# one run through the group
# --------------------------------------------------------------------------------------


def test_retrieve_run_only_through_its_own_group(server):
    client = server.client()
    http = server.http()
    gid = new_group(client)
    other = new_group(client)
    rid = add(client, gid, [run_input("mine")]).run_ids[0]
    elsewhere = add(client, other, [run_input("other group")]).run_ids[0]
    lone = client.task_run.create(input="no group", processor="lite").run_id
    run = client.task_group.retrieve_run(rid, task_group_id=gid)
    assert run.run_id == rid and run.task_group_id == gid
    for prefix in ("/v1", "/v1beta"):
        r = http.get(f"{prefix}/tasks/groups/{gid}/runs/{rid}")
        assert r.status_code == 200, r.text
        assert r.json()["taskgroup_id"] == gid
        for bad in (elsewhere, lone, NO_SUCH_RUN, "not-a-run"):
            assert_error(http.get(f"{prefix}/tasks/groups/{gid}/runs/{bad}"), 404)
    for bad in (elsewhere, lone, NO_SUCH_RUN):
        with pytest.raises(parallel.NotFoundError):
            client.task_group.retrieve_run(bad, task_group_id=gid)
    assert client.task_run.retrieve(lone).task_group_id is None


# --------------------------------------------------------------------------------------
# counts
# --------------------------------------------------------------------------------------


def test_counts_always_add_up_while_the_group_runs(server):
    client = server.client()
    gid = new_group(client)
    poller = server.http()
    snapshots: list = []
    stop = threading.Event()
    thread = threading.Thread(target=poll_counts, args=(poller, gid, stop, snapshots), daemon=True)
    thread.start()
    try:
        first = add(
            client,
            gid,
            [run_input(f"c{i}", **({SLEEP_KEY: 40 * (i % 8)} if i % 5 else {FAIL_KEY: f"f{i}"})) for i in range(20)],
        )
        # the second add lands while the first is under way: some of its runs have ended
        wait_until(
            lambda: any(check_status(client.task_group.retrieve(gid).status)["task_run_status_counts"][s] for s in TERMINAL),
            10,
            what="the first add's runs to start ending",
        )
        second = add(client, gid, [run_input(f"d{i}", **{SLEEP_KEY: 100 * i}) for i in range(5)])
        statuses = [first.status, second.status]
        sdk_seen = []
        while True:
            g = client.task_group.retrieve(gid)
            sdk_seen.append(check_status(g.status))
            if not g.status.is_active:
                break
            assert len(sdk_seen) < 2000, "the group never became idle"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(10)
    for s in statuses:
        check_status(s)
    seen = []
    for code, text in snapshots:
        assert code == 200, text
        body = json.loads(text)
        seen.append(check_group(body, gid))
    seen += sdk_seen
    assert len(seen) > 20, f"only {len(seen)} snapshots"
    totals = [s["num_task_runs"] for s in seen]
    assert set(totals) <= {0, 20, 25}, sorted(set(totals))
    final = check_status(client.task_group.retrieve(gid).status)
    counts = final["task_run_status_counts"]
    assert final["num_task_runs"] == 25 and counts["failed"] == 4 and counts["completed"] == 21, final
    events = sdk_events(client, gid)
    check_event_log(events, gid, [first.run_ids, second.run_ids])
    for e in events:
        if e.type == "task_group_status":
            check_status(e.status)


# --------------------------------------------------------------------------------------
# /v1beta
# --------------------------------------------------------------------------------------


def test_v1beta_paths_serve_the_same_groups(server):
    http = server.http()
    sse = sse_client(server)
    r = post_json(http, "/v1beta/tasks/groups", {"metadata": {"via": "beta"}})
    assert r.status_code == 200, r.text
    check_group(r.json())
    gid = r.json()["taskgroup_id"]
    added = post_json(http, f"/v1beta/tasks/groups/{gid}/runs", {"inputs": [run_input("beta 1"), run_input("beta 2")]})
    assert added.status_code == 200, added.text
    body = added.json()
    validate_type(type_=TaskGroupRunResponse, value=body)
    assert body["event_cursor"] is None and body["run_cursor"] is None, body
    check_status(body["status"])
    ids = body["run_ids"]
    frames = group_events(sse, gid, prefix="/v1beta")  # to its end: idle
    check_event_log(frames, gid, [ids])
    v1 = http.get(f"{GROUPS}/{gid}")
    beta = http.get(f"/v1beta/tasks/groups/{gid}")
    assert v1.status_code == 200 and beta.status_code == 200
    assert canon(beta.json()) == canon(v1.json())
    check_group(beta.json(), gid)
    assert keys(group_events(sse, gid)) == keys(frames)
    assert keys(group_runs(sse, gid, prefix="/v1beta")) == keys(group_runs(sse, gid))
    for rid in ids:
        a = http.get(f"{GROUPS}/{gid}/runs/{rid}")
        b = http.get(f"/v1beta/tasks/groups/{gid}/runs/{rid}")
        assert a.status_code == 200 and b.status_code == 200
        assert canon(a.json()) == canon(b.json())
    # the SDK (on /v1) sees the group made on /v1beta
    assert server.client().task_group.retrieve(gid).metadata == {"via": "beta"}
    more = post_json(http, f"/v1beta/tasks/groups/{gid}/runs", {"inputs": [run_input("beta 3")]})
    assert more.status_code == 200 and isinstance(more.json()["event_cursor"], str), more.text


# --------------------------------------------------------------------------------------
# webhooks (own servers, allowed to reach the loopback receiver)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_group_runs_deliver_webhooks(fresh_server, backend):
    rcv = Receiver()
    try:
        srv = fresh_server(backend, extra_args=PRIVATE, env=LOG_INFO)
        secret = secret_of(srv, srv.key)
        client = srv.client()
        gid = new_group(client)
        inputs = [
            {**run_input("hooked"), "webhook": hook(rcv.url("/ok"))},
            {**run_input("hooked failure", **{FAIL_KEY: "group hook failure"}), "webhook": hook(rcv.url("/fail"))},
            run_input("no hook"),
        ]
        ids = add(client, gid, inputs).run_ids
        wait_idle(client, gid)
        rcv.wait_for(2, 15, "(one delivery per run with a webhook)")
        hits = assert_quiet(rcv, 2, srv)
        assert sorted(h.path for h in hits) == ["/fail", "/ok"], hits
        by_path = {h.path: h for h in hits}
        ok = assert_delivery(by_path["/ok"], secret, ids[0], "completed", path="/ok")
        bad = assert_delivery(by_path["/fail"], secret, ids[1], "failed", path="/fail")
        for body in (ok, bad):
            assert body["data"]["taskgroup_id"] == gid, body
        assert "group hook failure" in json.dumps(bad["data"].get("error")), bad
        assert client.task_run.retrieve_input(ids[0]).webhook.url == rcv.url("/ok")
    finally:
        rcv.close()


# --------------------------------------------------------------------------------------
# durability: SIGKILL in the middle of a group
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_group_survives_sigkill(fresh_server, backend):
    srv = fresh_server(backend, extra_args=["--lease-seconds", "2"])
    client = srv.client()
    gid = new_group(client, test="sigkill")
    quick = [run_input(f"quick {i}") for i in range(4)]
    slow = [run_input(f"slow {i}", **{SLEEP_KEY: 2500}) for i in range(6)]
    first = add(client, gid, quick + slow)
    second = add(client, gid, [run_input(f"late {i}", **{SLEEP_KEY: 2000}) for i in range(3)])
    adds = [first.run_ids, second.run_ids]
    all_ids = first.run_ids + second.run_ids

    def quick_done_slow_running():
        counts = check_status(client.task_group.retrieve(gid).status)["task_run_status_counts"]
        return counts["completed"] >= 4 and counts["running"] >= 1

    wait_until(quick_done_slow_running, 20, 0.02, "the quick runs to end while the slow ones run")
    before = group_events(sse_client(srv), gid, stop_after=5)
    at_kill = check_status(client.task_group.retrieve(gid).status)
    assert at_kill["is_active"], at_kill
    srv.kill()

    srv.start()
    client = srv.client()
    http = sse_client(srv)
    st = check_status(client.task_group.retrieve(gid).status)
    assert st["num_task_runs"] == 13, st
    # resume where the reader was before the kill: live until the group is idle
    rest = group_events(http, gid, last_event_id=before[-1].json["event_id"])
    full = group_events(http, gid)
    assert keys(before + rest) == keys(full), "the log across the restart lost or repeated events"
    assert check_event_log(full, gid, adds) == 1
    terminal = [f.json["run"]["run_id"] for f in full if f.json["type"] == "task_run.state"]
    assert sorted(terminal) == sorted(all_ids), "not exactly one terminal event per run"
    final = check_status(client.task_group.retrieve(gid).status)
    assert final["task_run_status_counts"]["completed"] == 13 and not final["is_active"], final
    for rid in all_ids:
        assert client.task_run.retrieve(rid).status == "completed", rid
    listing = group_runs(http, gid)
    assert [f.json["run"]["run_id"] for f in listing] == all_ids
    assert all(f.json["run"]["status"] == "completed" for f in listing)
    sdk = [e.to_dict(mode="json") for e in sdk_events(client, gid)]
    assert sdk == [f.json for f in full]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_is_not_held_up_by_open_group_streams(fresh_server, backend):
    """Graceful shutdown ends open group event streams (as it ends run streams); the group
    carries on after the restart."""
    srv = fresh_server(backend, extra_args=["--lease-seconds", "2"])
    client = srv.client()
    gid = new_group(client)
    ids = add(client, gid, [run_input("held", **{SLEEP_KEY: 3000}), run_input("quick")]).run_ids
    wait_until(lambda: client.task_run.retrieve(ids[0]).status == "running", 10, what="the slow run to start")
    outcome: dict = {}
    opened = threading.Event()

    def reader():
        with httpx.Client(base_url=srv.base_url, trust_env=False, timeout=60) as c:
            with c.stream("GET", f"{GROUPS}/{gid}/events", headers={"x-api-key": srv.key}) as r:
                try:
                    outcome["frames"] = read_sse(r, on_frame=lambda _: opened.set())
                except httpx.HTTPError as exc:
                    outcome["frames"] = exc

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    assert opened.wait(10), "the group's event stream sent nothing"
    t0 = time.monotonic()
    code = srv.stop(signal.SIGTERM, timeout=15)
    elapsed = time.monotonic() - t0
    assert code == 0, f"exit code {code} after SIGTERM\n{srv.log_tail()}"
    assert elapsed < 5, f"took {elapsed:.1f}s to exit with an open group event stream"
    t.join(10)
    assert not t.is_alive() and isinstance(outcome.get("frames"), list), f"the stream did not end cleanly: {outcome}"

    srv.start()
    client = srv.client()
    assert check_status(client.task_group.retrieve(gid).status)["num_task_runs"] == 2
    events = wait_idle(client, gid)
    assert check_event_log(events, gid, [ids]) == 1
    assert [client.task_run.retrieve(r).status for r in ids] == ["completed", "completed"]


# --------------------------------------------------------------------------------------
# fairness
# --------------------------------------------------------------------------------------

BIG = 60  # runs of the big group
BIG_MS = 300  # each; with 2 workers the big group alone needs ~9 s


@pytest.mark.parametrize("backend", BACKENDS)
def test_big_group_starves_neither_other_groups_nor_other_tenants(fresh_server, backend):
    srv = fresh_server(backend, extra_args=["--concurrency", "2"])
    a = srv.client(srv.key)
    b = srv.client(srv.other_key)
    big = new_group(a, size="big")
    add(a, big, [run_input(f"row {i}", **{SLEEP_KEY: BIG_MS}) for i in range(BIG)])
    started = time.monotonic()
    same_tenant = new_group(a, size="one")
    mine = add(a, same_tenant, [run_input("same tenant")]).run_ids[0]
    theirs_group = new_group(b, size="one")
    theirs = add(b, theirs_group, [run_input("other tenant")]).run_ids[0]
    waits = {}
    for client, rid, text in ((a, mine, "same tenant"), (b, theirs, "other tenant")):
        res = client.task_run.result(rid, api_timeout=30)
        waits[text] = time.monotonic() - started
        assert res.run.status == "completed" and res.output.content == f"echo: {text}", res
    # oldest-first would run them after the whole big group (~9 s); fairly, within a few slots
    assert max(waits.values()) < 3.0, f"single runs waited behind the big group: {waits}"
    counts = check_status(a.task_group.retrieve(big).status)["task_run_status_counts"]
    assert counts["queued"] >= BIG // 2, f"only {counts['queued']} of the big group still queued: the test proved nothing"
    for client, gid in ((a, same_tenant), (b, theirs_group)):
        events = wait_idle(client, gid)
        assert [e.type for e in events] == ["task_group_status", "task_run.state", "task_group_status"]
