"""Conformance tests of the Monitors API in both of its contracts: the official SDK's
`/v1/monitors` (`client.monitor.*`, strict response validation; the same routes under
`/v1beta/`) and the public spec's `/v1alpha/monitors` (raw httpx, every body checked against
the spec's schemas), on real `parallax serve` processes.

Two kinds of tests, split by what they need:

(a) The API itself, no execution needed (a scripted server per backend, shared by the
module, with four tenants, so that lists can be checked exactly):
- Create (201) of both types: every field echoed, defaults (`lite`, no metadata, no
  webhook), frequencies at the bounds; a snapshot monitor from a completed task run of the
  tenant (its input as the query, its output schema), 422 at `/settings/task_run_id` for an
  unknown run, another tenant's run, a run still running and a failed run.
- 422 with `detail.pointer` for each bad field (`5m`, `31d`, unknown type, processor `pro`,
  a metadata key over 16 characters, a bad webhook URL or event type, a non-JSON output
  schema, unknown settings, ...), several at once, and nothing created.
- List: newest first, active by default, `status` and `type` filters, pages of `limit` with
  `cursor`/`next_cursor`, 422 for a bad limit, cursor, status or type.
- Update: only the fields sent change; null clears webhook, metadata and
  settings.advanced_settings and is refused (422) elsewhere; settings need `type`.
- Cancel: idempotent; a cancelled monitor takes a metadata update only (409 otherwise) and
  refuses a trigger (409).
- Trigger (204) and the events endpoint (pages, filters, 422s) without depending on what an
  execution found.
- Tenant isolation: another tenant's key gets 404 "Monitor not found" on every route of both
  contracts and never sees the monitor in a list; unknown and malformed ids get the same 404;
  401 without a valid key.
- v1alpha: create (cadence), list (by id, `monitor_id` starts after, `limit`), retrieve,
  update, DELETE (status `canceled`), events (`lookback_period`: `Nd`/`Nw`, 422 otherwise),
  event_groups (404 "Event group not found"), simulate_event (400 without a webhook, 422 for
  an unknown type, 204 and a signed delivery whose event group the API then shows).

(b) Executions (marked below): a server whose search provider is the local index holding a
small invented site served by this module on loopback (the Tarnwick Light Railway: three pages
that can change between executions, with a view counter and a footer that change on every
view), `--allow-private-fetch`, no fetch cache. The first execution without backfill reports
nothing (a completion); a trigger with nothing changed is another completion; a story added
to a page is exactly one new event group citing that page; unchanged again, or the same story
reworded on a second page, is no new group; backfill reports on the first execution; a
snapshot monitor keeps its latest snapshot; a restart with the monitor clock two hours ahead
runs each hourly monitor exactly once more (both backends); a node SIGKILLed mid-execution
loses nothing: once its lease expires the execution runs again and is recorded once (both
backends); `monitor.execution.completed` deliveries. SQLite only except the restart and the
kill.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import unquote, urlsplit

import httpx
import jsonschema_rs
import parallel
import pytest
from parallel.types import Monitor, MonitorCompletionEvent, MonitorErrorEvent

from support import BACKENDS, FAIL_KEY, SLEEP_KEY, assert_error, index_add, new_key, wait_until
from test_streams import SPEC
from test_webhooks import HOOK_ARGS, LOG_INFO, Receiver, assert_quiet, secret_of, signature_ok

MONITORS = "/v1/monitors"
ALPHA = "/v1alpha/monitors"
MONITOR_ID = re.compile(r"^monitor_[0-9a-f]{32}$")
GROUP_ID = re.compile(r"^mevtgrp_[0-9a-f]{32}$")
EVENT_ID = re.compile(r"^mevt_[0-9a-f]{32}$")
PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
NO_SUCH_MONITOR = "monitor_" + "0" * 32
NO_SUCH_RUN = "trun_" + "0" * 32
NOT_FOUND = "Monitor not found"
GROUP_NOT_FOUND = "Event group not found"
NO_WEBHOOK = "Webhook not configured"
DETECTED = "monitor.event.detected"
COMPLETED = "monitor.execution.completed"
FAILED = "monitor.execution.failed"
# The SDK's Monitor as the server sends it (snapshot monitors add `output`).
V1_FIELDS = {"monitor_id", "type", "status", "frequency", "processor", "settings", "created_at", "last_run_at", "metadata", "webhook"}
ALPHA_FIELDS = {"monitor_id", "query", "status", "cadence", "metadata", "webhook", "output_schema", "created_at", "last_run_at"}
CADENCES = {"hourly": "1h", "daily": "1d", "weekly": "1w", "every_two_weeks": "2w"}

QUERY = "Tarnwick Light Railway restoration news"
COMPANY_SCHEMA = {
    "type": "json",
    "json_schema": {
        "type": "object",
        "properties": {
            "milestone": {"type": "string", "description": "What was completed or announced"},
            "date": {"type": "string", "description": "When it happens, YYYY-MM-DD"},
        },
        "required": ["milestone", "date"],
        "additionalProperties": False,
    },
}
FULL_SETTINGS = {
    "query": QUERY,
    "include_backfill": False,
    "output_schema": COMPANY_SCHEMA,
    "advanced_settings": {"location": "gb", "source_policy": {"include_domains": ["tarnwick-railway.example"]}},
}
# The module's servers: a scripted processor (snapshot baselines are task runs that end at
# once), loopback webhooks, quick webhook retries, deliveries logged.
MODULE_ARGS = ["--allow-private-fetch", *HOOK_ARGS]


# --------------------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def monitor_servers(server_factory):
    """get(backend): the module's scripted server of that backend, started on first use.
    Tenants: keys[0] (most tests), keys[1] (the other tenant), keys[2] (the /v1 list test
    only) and keys[3] (the /v1alpha list test only)."""
    made: dict = {}

    def get(backend: str):
        if backend not in made:
            made[backend] = server_factory(
                backend, keys=[new_key() for _ in range(4)], extra_args=MODULE_ARGS, env=LOG_INFO
            )
        srv = made[backend]
        if not srv.alive():
            srv.start()
        return srv

    yield get
    for srv in made.values():
        srv.stop()


def _guard(srv, request):
    yield srv
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(srv.log_tail())
    srv.close_clients()
    assert srv.alive(), f"parallax died: {srv.log_tail()}"


@pytest.fixture(params=BACKENDS)
def msrv(request, monitor_servers):
    """The module's scripted server of each backend in turn."""
    yield from _guard(monitor_servers(request.param), request)


@pytest.fixture
def msqlite(request, monitor_servers):
    yield from _guard(monitor_servers("sqlite"), request)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def post(srv, path: str, body, key: Optional[str] = None) -> httpx.Response:
    return srv.http(key).post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def create_stream(client: parallel.Parallel, query: str = QUERY, frequency: str = "1d", **kw) -> Monitor:
    settings = {"query": query, **kw.pop("settings", {})}
    return client.monitor.create(type="event_stream", frequency=frequency, settings=settings, **kw)


def completed_run(client: parallel.Parallel, text: str, **kw) -> str:
    """A task run of the scripted processor, completed; returns its id."""
    run = client.task_run.create(input=text, processor="lite", **kw)
    res = client.task_run.result(run.run_id, api_timeout=30)
    assert res.run.status == "completed", res.run
    return run.run_id


def stamp(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        out = value
    else:
        assert isinstance(value, str) and value, value
        out = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert out.tzinfo is not None, value
    return out


def check_monitor(m: Monitor) -> None:
    assert MONITOR_ID.match(m.monitor_id), m.monitor_id
    assert m.type in ("event_stream", "snapshot") and m.status in ("active", "cancelled"), m
    assert m.processor in ("lite", "base"), m
    stamp(m.created_at)
    if m.last_run_at is not None:
        assert stamp(m.last_run_at) >= stamp(m.created_at), m
    if m.type == "snapshot":
        assert m.output is not None, m


def v1_get(srv, mid: str, key: Optional[str] = None, prefix: str = "/v1") -> dict:
    """The raw /v1 monitor, without `last_run_at` (an execution may set it at any time)."""
    r = srv.http(key).get(f"{prefix}/monitors/{mid}")
    assert r.status_code == 200, r.text
    Monitor.model_validate(r.json())
    return without_run(r.json())


def without_run(body: dict) -> dict:
    out = dict(body)
    out.pop("last_run_at", None)
    if isinstance(out.get("output"), dict):  # a snapshot's latest output moves with executions
        out.pop("output")
    return out


def listed(client: parallel.Parallel, **kw) -> list:
    return [m.monitor_id for m in client.monitor.list(**kw).monitors]


def every_id(client: parallel.Parallel) -> set:
    """Every monitor of the tenant, active or cancelled, through the pages."""
    out, cursor = set(), None
    while True:
        page = client.monitor.list(status=["active", "cancelled"], limit=10000, cursor=cursor)
        out |= {m.monitor_id for m in page.monitors}
        if not page.next_cursor:
            return out
        cursor = page.next_cursor


def pointers(detail: dict) -> list:
    return [e["pointer"] for e in detail["errors"]]


def assert_422_at(resp, *wanted: str) -> dict:
    """A 422 whose errors name each of `wanted` (a pointer or one under it), and nothing else."""
    detail = assert_error(resp, 422)
    assert detail is not None and isinstance(detail.get("errors"), list), detail
    got = pointers(detail)
    assert detail["pointer"] == got[0], detail

    def under(p: str, w: str) -> bool:
        return p == w or p.startswith(w + "/")

    for w in wanted:
        assert any(under(p, w) for p in got), f"{w} not among {got}: {detail}"
    for p in got:
        assert any(under(p, w) for w in wanted), f"unexpected error at {p}: {detail}"
    return detail


_VALIDATORS: dict = {}


def spec_errors(value, schema: str, array: bool = False) -> list:
    """What is wrong with a body against the spec's schema (or an array of it)."""
    key = (schema, array)
    if key not in _VALIDATORS:
        ref = {"$ref": f"#/components/schemas/{schema}"}
        _VALIDATORS[key] = jsonschema_rs.validator_for(
            {**({"type": "array", "items": ref} if array else ref), "components": SPEC["components"]}
        )
    return [f"{schema}: {e.message} at {list(e.instance_path)}" for e in _VALIDATORS[key].iter_errors(value)]


def alpha_ok(resp: httpx.Response, status: int = 200, schema: str = "MonitorResponse", array: bool = False):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/json", resp.headers
    body = resp.json()
    assert spec_errors(body, schema, array) == [], body
    return body


def all_events(client: parallel.Parallel, mid: str, include_completions: bool = True) -> list:
    """Every event of a monitor through the pages, newest first."""
    out, cursor = [], None
    while True:
        page = client.monitor.events(mid, include_completions=include_completions, limit=100, cursor=cursor)
        out += page.events
        if not page.next_cursor:
            return out
        cursor = page.next_cursor


def groups_of(events: list) -> dict:
    """{event_group_id: [its events]} of the content events, in the order seen."""
    out: dict = {}
    for e in events:
        if e.event_type in ("event_stream", "snapshot"):
            out.setdefault(e.event_group_id, []).append(e)
    return out


def executions(events: list) -> int:
    """Executions an event log records: each ran to one group, one completion or one error."""
    return len(groups_of(events)) + sum(e.event_type in ("completion", "error") for e in events)


# --------------------------------------------------------------------------------------
# (a) create
# --------------------------------------------------------------------------------------


def test_create_event_stream_is_201_and_echoes_every_field(msrv):
    client = msrv.client()
    hook = {"url": "https://hooks.tarnwick-railway.example/monitor", "event_types": [DETECTED, FAILED]}
    before = dt.datetime.now(dt.timezone.utc)
    raw = client.monitor.with_raw_response.create(
        type="event_stream",
        frequency="6h",
        processor="base",
        settings=FULL_SETTINGS,
        metadata={"team": "heritage", "thread": "C0123"},
        webhook=hook,
    )
    after = dt.datetime.now(dt.timezone.utc)
    assert raw.status_code == 201
    m = raw.parse()
    body = raw.http_response.json()
    assert set(body) == V1_FIELDS, sorted(body)
    check_monitor(m)
    assert m.type == "event_stream" and m.status == "active" and m.frequency == "6h" and m.processor == "base", m
    assert body["settings"] == FULL_SETTINGS, body["settings"]
    assert body["metadata"] == {"team": "heritage", "thread": "C0123"} and body["webhook"] == hook, body
    assert body["last_run_at"] is None, "no execution can have finished before the create answered"
    created = stamp(body["created_at"])
    assert before - dt.timedelta(seconds=5) <= created <= after + dt.timedelta(seconds=5), (before, created, after)

    # Retrieve shows the same monitor, through the SDK and on the wire, under /v1 and /v1beta.
    got = client.monitor.retrieve(m.monitor_id)
    check_monitor(got)
    assert got.monitor_id == m.monitor_id and got.created_at == m.created_at
    assert v1_get(msrv, m.monitor_id) == without_run(body)
    assert v1_get(msrv, m.monitor_id, prefix="/v1beta") == without_run(body)


def test_create_defaults(msrv):
    client = msrv.client()
    raw = client.monitor.with_raw_response.create(type="event_stream", frequency="1d", settings={"query": QUERY})
    assert raw.status_code == 201
    body = raw.http_response.json()
    assert body["processor"] == "lite", body
    assert body["settings"] == {"query": QUERY}, body["settings"]
    assert body["metadata"] is None and body["webhook"] is None and body["status"] == "active", body
    assert "output" not in body, "only snapshot monitors carry output"
    # Metadata at its limits: keys of 16 characters (not bytes), values of 512.
    meta = {"k" * 16: "v" * 512, "\u00e9tat-du-r\u00e9seau": "\u00e9" * 512}
    assert create_stream(client, metadata=meta).metadata == meta
    # A webhook without event_types keeps none (all types).
    m = create_stream(client, webhook={"url": "https://hooks.tarnwick-railway.example/all"})
    assert v1_get(msrv, m.monitor_id)["webhook"] == {"url": "https://hooks.tarnwick-railway.example/all"}


@pytest.mark.parametrize("frequency", ["1h", "12h", "1d", "30d", "1w", "4w", "720h"])
def test_frequencies_within_the_bounds_are_accepted(msrv, frequency):
    m = create_stream(msrv.client(), frequency=frequency)
    assert m.frequency == frequency, m
    assert msrv.client().monitor.retrieve(m.monitor_id).frequency == frequency


def test_snapshot_monitor_from_a_completed_run(msrv):
    client = msrv.client()
    text_q = "When did the Tarnwick Light Railway open?"
    run_id = completed_run(client, text_q)
    raw = client.monitor.with_raw_response.create(
        type="snapshot", frequency="1w", settings={"task_run_id": run_id}, metadata={"kind": "snap"}
    )
    assert raw.status_code == 201
    m = raw.parse()
    body = raw.http_response.json()
    assert set(body) == V1_FIELDS | {"output"}, sorted(body)
    check_monitor(m)
    assert m.type == "snapshot" and m.status == "active" and m.frequency == "1w" and m.processor == "lite", m
    assert body["settings"] == {"task_run_id": run_id, "query": text_q}, body["settings"]
    assert body["output"] == {"latest_snapshot": None}, body["output"]
    assert body["metadata"] == {"kind": "snap"} and body["last_run_at"] is None

    # A run with a JSON output schema: the monitor shows that schema.
    schema = {
        "type": "json",
        "json_schema": {
            "type": "object",
            "properties": {"echo": {"type": "string", "description": "The question"}},
            "required": ["echo"],
            "additionalProperties": False,
        },
    }
    json_q = "Which year did the Tarnwick Light Railway close?"
    run2 = completed_run(client, json_q, task_spec={"output_schema": schema})
    m2 = client.monitor.create(type="snapshot", frequency="1d", settings={"task_run_id": run2})
    settings = v1_get(msrv, m2.monitor_id)["settings"]
    stored = msrv.http().get(f"/v1/tasks/runs/{run2}/input").json()["task_spec"]["output_schema"]
    assert settings == {"task_run_id": run2, "query": json_q, "output_schema": stored}, settings
    assert settings["output_schema"]["json_schema"]["properties"] == schema["json_schema"]["properties"]


def test_snapshot_needs_a_completed_run_of_the_tenant(msrv):
    client = msrv.client()
    before = every_id(client)
    theirs = completed_run(msrv.client(msrv.other_key), "another tenant's run")
    failed = client.task_run.create(input="doomed baseline", processor="lite", metadata={FAIL_KEY: "no baseline"})
    wait_until(lambda: client.task_run.retrieve(failed.run_id).status == "failed", 30, what="the run to fail")
    running = client.task_run.create(input="slow baseline", processor="lite", metadata={SLEEP_KEY: 15000})
    for run_id in (NO_SUCH_RUN, "not-a-run", theirs, failed.run_id, running.run_id):
        resp = post(msrv, MONITORS, {"type": "snapshot", "frequency": "1d", "settings": {"task_run_id": run_id}})
        assert_422_at(resp, "/settings/task_run_id")
    assert client.task_run.retrieve(running.run_id).is_active, "the run ended before the check: not a running run"
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.monitor.create(type="snapshot", frequency="1d", settings={"task_run_id": running.run_id})
    assert_422_at(ei.value, "/settings/task_run_id")
    assert every_id(client) == before, "a refused create made a monitor"


def _es(**over) -> dict:
    body = {"type": "event_stream", "frequency": "1d", "settings": {"query": QUERY}}
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


def _snap(settings) -> dict:
    return {"type": "snapshot", "frequency": "1d", "settings": settings}


BAD_CREATES = [
    ("frequency-5m", _es(frequency="5m"), ["/frequency"]),
    ("frequency-31d", _es(frequency="31d"), ["/frequency"]),
    ("frequency-0h", _es(frequency="0h"), ["/frequency"]),
    ("frequency-5w", _es(frequency="5w"), ["/frequency"]),
    ("frequency-1.5h", _es(frequency="1.5h"), ["/frequency"]),
    ("frequency-number", _es(frequency=6), ["/frequency"]),
    ("frequency-missing", _es(frequency=...), ["/frequency"]),
    ("type-unknown", _es(type="weekly"), ["/type"]),
    ("type-missing", _es(type=...), ["/type"]),
    ("processor-pro", _es(processor="pro"), ["/processor"]),
    ("processor-core", _es(processor="core"), ["/processor"]),
    ("metadata-long-key", _es(metadata={"a_key_longer_than_16": "x"}), ["/metadata/a_key_longer_than_16"]),
    ("metadata-long-value", _es(metadata={"k": "v" * 513}), ["/metadata/k"]),
    ("metadata-not-string", _es(metadata={"n": 1}), ["/metadata/n"]),
    ("metadata-not-object", _es(metadata=["x"]), ["/metadata"]),
    ("webhook-ftp-url", _es(webhook={"url": "ftp://hooks.tarnwick-railway.example/x"}), ["/webhook/url"]),
    ("webhook-not-url", _es(webhook={"url": "not a url"}), ["/webhook/url"]),
    ("webhook-no-url", _es(webhook={"event_types": [DETECTED]}), ["/webhook/url"]),
    (
        "webhook-bad-event-type",
        _es(webhook={"url": "https://hooks.tarnwick-railway.example/x", "event_types": [DETECTED, "task_run.status"]}),
        ["/webhook/event_types/1"],
    ),
    ("settings-missing", _es(settings=...), ["/settings"]),
    ("settings-not-object", _es(settings="Tarnwick"), ["/settings"]),
    ("query-missing", _es(settings={}), ["/settings/query"]),
    ("query-blank", _es(settings={"query": "  "}), ["/settings/query"]),
    ("query-too-long", _es(settings={"query": "q" * 10001}), ["/settings/query"]),
    ("settings-unknown", _es(settings={"query": QUERY, "task_run_id": NO_SUCH_RUN}), ["/settings/task_run_id"]),
    ("output-schema-text", _es(settings={"query": QUERY, "output_schema": {"type": "text"}}), ["/settings/output_schema"]),
    ("output-schema-string", _es(settings={"query": QUERY, "output_schema": "a list of milestones"}), ["/settings/output_schema"]),
    (
        "output-schema-not-object",
        _es(settings={"query": QUERY, "output_schema": {"type": "json", "json_schema": {"type": "string"}}}),
        ["/settings/output_schema"],
    ),
    ("include-backfill-string", _es(settings={"query": QUERY, "include_backfill": "yes"}), ["/settings/include_backfill"]),
    (
        "location-not-a-code",
        _es(settings={"query": QUERY, "advanced_settings": {"location": "United Kingdom"}}),
        ["/settings/advanced_settings/location"],
    ),
    (
        "advanced-unknown",
        _es(settings={"query": QUERY, "advanced_settings": {"freshness": "1d"}}),
        ["/settings/advanced_settings/freshness"],
    ),
    ("snapshot-no-run", _snap({}), ["/settings/task_run_id"]),
    ("snapshot-unknown-run", _snap({"task_run_id": NO_SUCH_RUN}), ["/settings/task_run_id"]),
    ("snapshot-with-query", _snap({"task_run_id": NO_SUCH_RUN, "query": QUERY}), ["/settings/query"]),
    ("memory-scope-not-string", _es(memory_scope_key=7), ["/memory_scope_key"]),
]


def test_bad_creates_are_422_naming_each_field(msrv):
    client = msrv.client()
    before = every_id(client)
    for name, body, wanted in BAD_CREATES:
        try:
            assert_422_at(post(msrv, MONITORS, body), *wanted)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    # Every bad field of one request is named.
    resp = post(
        msrv,
        MONITORS,
        {
            "type": "weekly",
            "frequency": "5m",
            "processor": "pro",
            "settings": {"query": QUERY},
            "metadata": {"a_key_longer_than_16": "x", "n": 1},
            "webhook": {"url": "ftp://x", "event_types": ["task_run.status"]},
        },
    )
    assert_422_at(
        resp, "/type", "/frequency", "/processor", "/metadata/a_key_longer_than_16", "/metadata/n",
        "/webhook/url", "/webhook/event_types/0",
    )
    # Through the SDK: its own exception, the same body.
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.monitor.create(type="event_stream", frequency="5m", settings={"query": QUERY})
    assert_422_at(ei.value, "/frequency")
    # A body that is no JSON object.
    for content, ctype in ((b"not json", "application/json"), (b"[]", "application/json"), (b"{}", "text/plain")):
        r = msrv.http().post(MONITORS, content=content, headers={"content-type": ctype})
        assert_error(r, 422)
    assert every_id(client) == before, "a refused create made a monitor"


# --------------------------------------------------------------------------------------
# (a) list
# --------------------------------------------------------------------------------------


def test_list_newest_first_pages_and_filters(msrv):
    key = msrv.keys[2]  # this test's own tenant: its lists are exact
    client = msrv.client(key)
    assert client.monitor.list(status=["active", "cancelled"]).monitors == []
    run_id = completed_run(client, "baseline of the list test")
    made = []
    for i in range(6):
        if i in (1, 4):
            m = client.monitor.create(type="snapshot", frequency="1d", settings={"task_run_id": run_id}, metadata={"i": str(i)})
        else:
            m = create_stream(client, query=f"{QUERY} {i}", metadata={"i": str(i)})
        made.append(m.monitor_id)
    newest = made[::-1]

    page = client.monitor.list()
    assert [m.monitor_id for m in page.monitors] == newest and page.next_cursor is None
    for m in page.monitors:
        check_monitor(m)
    body = msrv.http(key).get(MONITORS).json()
    assert set(body) == {"monitors", "next_cursor"} and body["next_cursor"] is None, body.keys()
    assert [without_run(m) for m in body["monitors"]] == [v1_get(msrv, i, key) for i in newest]

    def pages(limit: int, **kw) -> list:
        out, cursor = [], None
        while True:
            p = client.monitor.list(limit=limit, cursor=cursor, **kw)
            assert 1 <= len(p.monitors) <= limit or (not out and not p.monitors), p
            out.append([m.monitor_id for m in p.monitors])
            if p.next_cursor is None:
                return out
            assert out[-1] and len(out[-1]) == limit, "a page before the last is short"
            cursor = p.next_cursor

    assert pages(2) == [newest[0:2], newest[2:4], newest[4:6]]
    assert pages(4) == [newest[0:4], newest[4:6]]
    assert pages(6) == [newest]
    assert pages(10000) == [newest]

    # Cancelled monitors leave the default list; `status` brings them back.
    client.monitor.cancel(made[2])
    client.monitor.cancel(made[4])
    active = [i for i in newest if i not in (made[2], made[4])]
    assert listed(client) == active
    assert listed(client, status=["active"]) == active
    assert listed(client, status=["cancelled"]) == [made[4], made[2]]
    assert listed(client, status=["active", "cancelled"]) == newest
    assert all(m.status == "cancelled" for m in client.monitor.list(status=["cancelled"]).monitors)
    # ... and `type`.
    assert listed(client, type=["snapshot"]) == [made[1]]
    assert listed(client, type=["snapshot"], status=["active", "cancelled"]) == [made[4], made[1]]
    assert listed(client, type=["event_stream", "snapshot"]) == active
    assert pages(1, type=["event_stream"], status=["active", "cancelled"]) == [[made[5]], [made[3]], [made[2]], [made[0]]]
    # Repeated parameters on the wire mean the same as the SDK's comma form.
    r = msrv.http(key).get(MONITORS, params=[("status", "active"), ("status", "cancelled"), ("type", "snapshot")])
    assert r.status_code == 200 and [m["monitor_id"] for m in r.json()["monitors"]] == [made[4], made[1]], r.text

    # A cursor outlives its monitor's cancellation: the next page starts after it still.
    first = client.monitor.list(limit=1)
    assert [m.monitor_id for m in first.monitors] == [made[5]] and first.next_cursor, first
    client.monitor.cancel(made[5])
    assert listed(client, cursor=first.next_cursor, limit=1) == [made[3]]

    # What no list can be.
    http = msrv.http(key)
    for params, at in (
        ({"limit": "0"}, "/limit"),
        ({"limit": "10001"}, "/limit"),
        ({"limit": "abc"}, "/limit"),
        ({"cursor": "abc"}, "/cursor"),
        ({"status": "paused"}, "/status"),
        ({"type": "weekly"}, "/type"),
    ):
        assert_422_at(http.get(MONITORS, params=params), at)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.monitor.list(limit=0)
    assert_422_at(ei.value, "/limit")


# --------------------------------------------------------------------------------------
# (a) update
# --------------------------------------------------------------------------------------


def _diff(before: dict, after: dict) -> set:
    """Top-level fields (and settings.<key>) that differ."""
    out = {k for k in set(before) | set(after) if k != "settings" and before.get(k) != after.get(k)}
    bs, as_ = before.get("settings") or {}, after.get("settings") or {}
    out |= {f"settings.{k}" for k in set(bs) | set(as_) if bs.get(k) != as_.get(k)}
    return out


def test_update_changes_only_the_fields_sent(msrv):
    client = msrv.client()
    hook = {"url": "https://hooks.tarnwick-railway.example/u", "event_types": [DETECTED]}
    m = client.monitor.create(
        type="event_stream", frequency="6h", settings=FULL_SETTINGS, metadata={"team": "a"}, webhook=hook
    )
    mid = m.monitor_id
    state = v1_get(msrv, mid)

    def step(changed: set, **fields) -> dict:
        nonlocal state
        raw = client.monitor.with_raw_response.update(mid, **fields)
        assert raw.status_code == 200
        check_monitor(raw.parse())
        answered = without_run(raw.http_response.json())
        now = v1_get(msrv, mid)
        assert answered == now, "the update's answer is not the stored monitor"
        assert _diff(state, now) == changed, (fields, _diff(state, now))
        assert now["status"] == "active" and now["created_at"] == state["created_at"]
        state = now
        return now

    assert step({"metadata"}, metadata={"team": "b", "owner": "ops"})["metadata"] == {"team": "b", "owner": "ops"}
    assert step({"frequency"}, frequency="2h")["frequency"] == "2h"
    assert step({"processor"}, processor="base")["processor"] == "base"
    assert step({"settings.query"}, type="event_stream", settings={"query": "Tarnwick viaduct news"})["settings"][
        "query"
    ] == "Tarnwick viaduct news"
    got = step({"settings.advanced_settings"}, type="event_stream", settings={"advanced_settings": {"location": "de"}})
    assert got["settings"]["advanced_settings"] == {"location": "de"}
    got = step({"settings.advanced_settings"}, type="event_stream", settings={"advanced_settings": None})
    assert got["settings"].get("advanced_settings") is None
    assert got["settings"]["output_schema"] == COMPANY_SCHEMA and got["settings"]["include_backfill"] is False
    assert step({"webhook"}, webhook=None)["webhook"] is None
    new_hook = {"url": "https://hooks.tarnwick-railway.example/v2"}
    assert step({"webhook"}, webhook=new_hook)["webhook"] == new_hook
    assert step({"metadata"}, metadata=None)["metadata"] is None
    # Several at once.
    got = step({"frequency", "processor", "metadata"}, frequency="1w", processor="lite", metadata={"k": "v"})
    assert (got["frequency"], got["processor"], got["metadata"]) == ("1w", "lite", {"k": "v"})
    # The /v1beta spelling of update.
    r = post(msrv, f"/v1beta/monitors/{mid}/update", {"frequency": "3h"})
    assert r.status_code == 200 and r.json()["frequency"] == "3h", r.text

    # A snapshot monitor: frequency and metadata change; it has no settings to update.
    snap = client.monitor.create(type="snapshot", frequency="1d", settings={"task_run_id": completed_run(client, "snap upd")})
    before = v1_get(msrv, snap.monitor_id)
    assert client.monitor.update(snap.monitor_id, frequency="12h").frequency == "12h"
    assert _diff(before, v1_get(msrv, snap.monitor_id)) == {"frequency"}
    assert_422_at(
        post(msrv, f"{MONITORS}/{snap.monitor_id}/update", {"type": "snapshot", "settings": {"query": "x"}}), "/type"
    )


def test_event_stream_settings_do_not_update_a_snapshot_monitor(msrv):
    """`type` names the type of the monitor being updated: settings sent as `event_stream`
    settings cannot change a snapshot monitor (its query is its task run's input)."""
    client = msrv.client()
    snap = client.monitor.create(type="snapshot", frequency="1d", settings={"task_run_id": completed_run(client, "snap type")})
    mid = snap.monitor_id
    before = v1_get(msrv, mid)
    wrong = []
    for settings in ({"query": "something else"}, {"advanced_settings": {"location": "de"}}, {"advanced_settings": None}):
        r = post(msrv, f"{MONITORS}/{mid}/update", {"type": "event_stream", "settings": settings})
        try:
            assert_422_at(r, "/type")
        except AssertionError as exc:
            wrong.append(f"/v1 update with event_stream settings {settings}: {exc}")
    # The spec's update names no type, and its query is an event_stream monitor's: refused too.
    r = post(msrv, f"{ALPHA}/{mid}", {"query": "something else"})
    if r.status_code not in (400, 409, 422):
        wrong.append(f"/v1alpha update of the query: expected a refusal, got {r.status_code}: {r.text[:300]}")
    after = v1_get(msrv, mid)
    if after != before:
        wrong.append(f"the snapshot monitor's settings changed: {before['settings']} -> {after['settings']}")
    assert not wrong, "\n".join(wrong)


BAD_UPDATES = [
    ("frequency-null", {"frequency": None}, ["/frequency"]),
    ("processor-null", {"processor": None}, ["/processor"]),
    ("type-null", {"type": None}, ["/type"]),
    ("settings-null", {"settings": None}, ["/settings"]),
    ("settings-without-type", {"settings": {"query": "x"}}, ["/type"]),
    ("settings-with-snapshot-type", {"type": "snapshot", "settings": {"query": "x"}}, ["/type"]),
    ("query-null", {"type": "event_stream", "settings": {"query": None}}, ["/settings/query"]),
    ("query-blank", {"type": "event_stream", "settings": {"query": ""}}, ["/settings/query"]),
    ("output-schema", {"type": "event_stream", "settings": {"output_schema": COMPANY_SCHEMA}}, ["/settings/output_schema"]),
    ("include-backfill", {"type": "event_stream", "settings": {"include_backfill": True}}, ["/settings/include_backfill"]),
    ("location-bad", {"type": "event_stream", "settings": {"advanced_settings": {"location": "GBR"}}}, ["/settings/advanced_settings/location"]),
    ("frequency-31d", {"frequency": "31d"}, ["/frequency"]),
    ("frequency-5m", {"frequency": "5m"}, ["/frequency"]),
    ("processor-pro", {"processor": "pro"}, ["/processor"]),
    ("type-unknown", {"type": "weekly"}, ["/type"]),
    ("status", {"status": "cancelled"}, ["/status"]),
    ("metadata-long-key", {"metadata": {"a_key_longer_than_16": "x"}}, ["/metadata/a_key_longer_than_16"]),
    ("webhook-bad-url", {"webhook": {"url": "ftp://x"}}, ["/webhook/url"]),
    ("webhook-bad-type", {"webhook": {"url": "https://h.example/x", "event_types": ["nope"]}}, ["/webhook/event_types/0"]),
]


def test_bad_updates_are_422_and_change_nothing(msrv):
    client = msrv.client()
    m = client.monitor.create(type="event_stream", frequency="6h", settings=FULL_SETTINGS, metadata={"team": "a"})
    before = v1_get(msrv, m.monitor_id)
    for name, body, wanted in BAD_UPDATES:
        try:
            assert_422_at(post(msrv, f"{MONITORS}/{m.monitor_id}/update", body), *wanted)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    # Nothing to update.
    assert_error(post(msrv, f"{MONITORS}/{m.monitor_id}/update", {}), 422)
    # The SDK sends null for None: refused where null does not clear.
    for fields, at in (({"frequency": None}, "/frequency"), ({"processor": None}, "/processor")):
        with pytest.raises(parallel.UnprocessableEntityError) as ei:
            client.monitor.update(m.monitor_id, **fields)
        assert_422_at(ei.value, at)
    assert v1_get(msrv, m.monitor_id) == before, "a refused update changed the monitor"


# --------------------------------------------------------------------------------------
# (a) cancel and trigger
# --------------------------------------------------------------------------------------


def test_cancel_is_final_and_idempotent(msrv):
    client = msrv.client()
    hook = {"url": "https://hooks.tarnwick-railway.example/c"}
    m = create_stream(client, metadata={"team": "a"}, webhook=hook)
    mid = m.monitor_id
    raw = client.monitor.with_raw_response.cancel(mid)
    assert raw.status_code == 200
    cancelled = raw.parse()
    check_monitor(cancelled)
    assert cancelled.status == "cancelled" and cancelled.monitor_id == mid
    body = without_run(raw.http_response.json())
    assert v1_get(msrv, mid) == body and body["status"] == "cancelled"
    # Again: no error, the same monitor.
    again = client.monitor.with_raw_response.cancel(mid)
    assert again.status_code == 200 and without_run(again.http_response.json()) == body

    # Only metadata can change now.
    assert client.monitor.update(mid, metadata={"team": "b"}).metadata == {"team": "b"}
    assert client.monitor.update(mid, metadata=None).metadata is None
    after = v1_get(msrv, mid)
    assert after["status"] == "cancelled" and after["webhook"] == hook
    for fields in (
        {"frequency": "2h"},
        {"processor": "base"},
        {"webhook": None},
        {"webhook": {"url": "https://hooks.tarnwick-railway.example/d"}},
        {"type": "event_stream", "settings": {"query": "other"}},
        {"type": "event_stream", "settings": {"advanced_settings": None}},
        {"metadata": {"team": "c"}, "frequency": "2h"},
    ):
        with pytest.raises(parallel.ConflictError) as ei:
            client.monitor.update(mid, **fields)
        assert_error(ei.value, 409)
    assert v1_get(msrv, mid) == after, "a refused update changed the cancelled monitor"
    # No trigger either.
    with pytest.raises(parallel.ConflictError) as ei:
        client.monitor.trigger(mid)
    assert_error(ei.value, 409)
    assert_error(msrv.http().post(f"{MONITORS}/{mid}/trigger"), 409)
    # Its events are still there to read.
    assert client.monitor.with_raw_response.events(mid, include_completions=True).status_code == 200
    # The spec's view says `canceled`; DELETE of a cancelled monitor is no error either.
    assert alpha_ok(msrv.http().get(f"{ALPHA}/{mid}"))["status"] == "canceled"
    assert alpha_ok(msrv.http().delete(f"{ALPHA}/{mid}"))["status"] == "canceled"


def test_trigger_is_204_and_events_answer_their_shape(msrv):
    client = msrv.client()
    m = create_stream(client)
    mid = m.monitor_id
    raw = client.monitor.with_raw_response.trigger(mid)
    assert raw.status_code == 204 and raw.http_response.content == b""
    assert client.monitor.trigger(mid) is None
    r = msrv.http().post(f"/v1beta/monitors/{mid}/trigger")
    assert r.status_code == 204 and r.content == b"", r.text
    # The schedule did not move: the monitor is as created.
    assert v1_get(msrv, mid)["frequency"] == "1d"

    http = msrv.http()
    body = http.get(f"{MONITORS}/{mid}/events").json()
    assert set(body) == {"events", "next_cursor"}, body
    page = client.monitor.events(mid)
    assert all(e.event_type != "completion" for e in page.events), "completions without include_completions"
    full = client.monitor.events(mid, include_completions=True, limit=100)
    for e in full.events:
        assert e.event_type in ("event_stream", "completion", "error"), e
    # An event group that is not this monitor's: no events, whatever the page.
    assert client.monitor.events(mid, event_group_id="mevtgrp_" + uuid.uuid4().hex).events == []
    for params, at in (
        ({"limit": "0"}, "/limit"),
        ({"limit": "101"}, "/limit"),
        ({"limit": "x"}, "/limit"),
        ({"cursor": "abc"}, "/cursor"),
        ({"cursor": "0"}, "/cursor"),
        ({"cursor": "-3"}, "/cursor"),
        ({"include_completions": "yes"}, "/include_completions"),
    ):
        assert_422_at(http.get(f"{MONITORS}/{mid}/events", params=params), at)
    with pytest.raises(parallel.UnprocessableEntityError) as ei:
        client.monitor.events(mid, limit=101)
    assert_422_at(ei.value, "/limit")


def test_v1beta_spelling(msrv):
    http = msrv.http()
    r = post(msrv, "/v1beta/monitors", _es(metadata={"via": "v1beta"}))
    assert r.status_code == 201, r.text
    mid = r.json()["monitor_id"]
    Monitor.model_validate(r.json())
    assert v1_get(msrv, mid, prefix="/v1beta") == v1_get(msrv, mid) == without_run(r.json())
    listed_ids = [m["monitor_id"] for m in http.get("/v1beta/monitors").json()["monitors"]]
    assert mid in listed_ids
    assert http.get(f"/v1beta/monitors/{mid}/events").status_code == 200
    assert http.post(f"/v1beta/monitors/{mid}/trigger").status_code == 204
    c = http.post(f"/v1beta/monitors/{mid}/cancel")
    assert c.status_code == 200 and c.json()["status"] == "cancelled", c.text
    assert v1_get(msrv, mid)["status"] == "cancelled"


# --------------------------------------------------------------------------------------
# (a) tenants and credentials
# --------------------------------------------------------------------------------------


def _routes(mid: str) -> list:
    """(method, path, json body or None) of every monitor route about one monitor."""
    group = "mevtgrp_" + uuid.uuid4().hex
    out = []
    for prefix in ("/v1", "/v1beta"):
        out += [
            ("GET", f"{prefix}/monitors/{mid}", None),
            ("POST", f"{prefix}/monitors/{mid}/update", {"metadata": {"x": "y"}}),
            ("POST", f"{prefix}/monitors/{mid}/cancel", None),
            ("GET", f"{prefix}/monitors/{mid}/events", None),
            ("POST", f"{prefix}/monitors/{mid}/trigger", None),
        ]
    out += [
        ("GET", f"{ALPHA}/{mid}", None),
        ("POST", f"{ALPHA}/{mid}", {"query": "taken over"}),
        ("DELETE", f"{ALPHA}/{mid}", None),
        ("GET", f"{ALPHA}/{mid}/events", None),
        ("GET", f"{ALPHA}/{mid}/event_groups/{group}", None),
        ("GET", f"{ALPHA}/{mid}/event_groups/mevtgrp_test_{uuid.uuid4().hex[:16]}", None),
        ("POST", f"{ALPHA}/{mid}/simulate_event", None),
    ]
    return out


def test_other_tenant_and_unknown_ids_get_404(msrv):
    mine = msrv.client()
    m = create_stream(mine, metadata={"team": "mine"}, webhook={"url": "https://hooks.tarnwick-railway.example/t"})
    mid = m.monitor_id
    before = v1_get(msrv, mid)
    other = msrv.client(msrv.other_key)
    calls = {
        "retrieve": lambda c, i: c.monitor.retrieve(i),
        "update": lambda c, i: c.monitor.update(i, metadata={"team": "theirs"}),
        "cancel": lambda c, i: c.monitor.cancel(i),
        "events": lambda c, i: c.monitor.events(i),
        "trigger": lambda c, i: c.monitor.trigger(i),
    }
    for client, target in ((other, mid), (mine, NO_SUCH_MONITOR), (mine, "nope"), (mine, "monitor_XYZ"), (mine, mid.upper())):
        for name, call in calls.items():
            with pytest.raises(parallel.NotFoundError) as ei:
                call(client, target)
            try:
                assert_error(ei.value, 404, NOT_FOUND)
            except AssertionError as exc:
                raise AssertionError(f"{name} {target}: {exc}") from None
    # Every route of both contracts, raw, for the other tenant and for an unknown id.
    for key, target in ((msrv.other_key, mid), (msrv.key, NO_SUCH_MONITOR)):
        http = msrv.http(key)
        for method, path, body in _routes(target):
            r = http.request(method, path, json=body)
            try:
                assert_error(r, 404, NOT_FOUND)
            except AssertionError as exc:
                raise AssertionError(f"{method} {path}: {exc}") from None
    # The other tenant's lists do not show it.
    assert mid not in every_id(other)
    alpha_list = alpha_ok(msrv.http(msrv.other_key).get(ALPHA), array=True)
    assert mid not in {x["monitor_id"] for x in alpha_list}
    # Nothing the other tenant tried changed it.
    assert v1_get(msrv, mid) == before


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "pk_wrong"}, {"authorization": "Bearer pk_wrong"}],
    ids=["missing", "wrong-x-api-key", "wrong-bearer"],
)
def test_bad_credentials_are_401_on_every_monitor_route(msrv, headers):
    mid = create_stream(msrv.client()).monitor_id
    http = msrv.http(auth=False)
    routes = _routes(mid) + [
        ("POST", MONITORS, _es()),
        ("GET", MONITORS, None),
        ("POST", "/v1beta/monitors", _es()),
        ("GET", "/v1beta/monitors", None),
        ("POST", ALPHA, {"query": QUERY, "cadence": "daily"}),
        ("GET", ALPHA, None),
    ]
    for method, path, body in routes:
        r = http.request(method, path, json=body, headers=headers)
        try:
            assert_error(r, 401)
        except AssertionError as exc:
            raise AssertionError(f"{method} {path}: {exc}") from None
    with pytest.raises(parallel.AuthenticationError) as ei:
        msrv.client(new_key()).monitor.list()
    assert_error(ei.value, 401)
    assert v1_get(msrv, mid)["status"] == "active"


# --------------------------------------------------------------------------------------
# (a) the spec's /v1alpha/monitors
# --------------------------------------------------------------------------------------


def test_alpha_create_and_retrieve(msrv):
    hook = {"url": "https://hooks.tarnwick-railway.example/alpha", "event_types": [DETECTED]}
    body = {"query": QUERY, "cadence": "daily", "metadata": {"thread": "T-1"}, "webhook": hook, "output_schema": COMPANY_SCHEMA}
    created = alpha_ok(post(msrv, ALPHA, body), 201)
    assert set(created) == ALPHA_FIELDS, sorted(created)
    assert MONITOR_ID.match(created["monitor_id"]), created
    assert created["query"] == QUERY and created["status"] == "active" and created["cadence"] == "daily", created
    assert created["metadata"] == {"thread": "T-1"} and created["webhook"] == hook, created
    assert created["output_schema"] == COMPANY_SCHEMA and created["last_run_at"] is None, created
    stamp(created["created_at"])
    mid = created["monitor_id"]
    got = alpha_ok(msrv.http().get(f"{ALPHA}/{mid}"))
    assert without_run(got) == without_run(created)
    # The same monitor through the SDK: an event_stream monitor on lite with the cadence's frequency.
    m = msrv.client().monitor.retrieve(mid)
    assert (m.type, m.frequency, m.processor, m.status) == ("event_stream", "1d", "lite", "active"), m
    v1 = v1_get(msrv, mid)
    assert v1["settings"] == {"query": QUERY, "output_schema": COMPANY_SCHEMA}, v1["settings"]
    assert v1["created_at"] == created["created_at"] or stamp(v1["created_at"]) == stamp(created["created_at"])
    # Minimal: no metadata, webhook or schema.
    bare = alpha_ok(post(msrv, ALPHA, {"query": QUERY, "cadence": "hourly"}), 201)
    assert (bare["metadata"], bare["webhook"], bare["output_schema"]) == (None, None, None), bare
    # Each cadence is a frequency, and each frequency a cadence.
    client = msrv.client()
    for cadence, frequency in CADENCES.items():
        a = alpha_ok(post(msrv, ALPHA, {"query": QUERY, "cadence": cadence}), 201)
        assert client.monitor.retrieve(a["monitor_id"]).frequency == frequency, cadence
        s = create_stream(client, frequency=frequency)
        assert alpha_ok(msrv.http().get(f"{ALPHA}/{s.monitor_id}"))["cadence"] == cadence, frequency
    # A frequency between cadences still shows one of them (the schema's enum).
    odd = create_stream(client, frequency="5d")
    assert alpha_ok(msrv.http().get(f"{ALPHA}/{odd.monitor_id}"))["cadence"] in CADENCES


def test_alpha_bad_creates_are_422(msrv):
    before = every_id(msrv.client())
    for body, at in (
        ({"cadence": "daily"}, ["/query"]),
        ({"query": "", "cadence": "daily"}, ["/query"]),
        ({"query": QUERY}, ["/cadence"]),
        ({"query": QUERY, "cadence": "monthly"}, ["/cadence"]),
        ({"query": QUERY, "cadence": "1d"}, ["/cadence"]),
        ({"query": QUERY, "cadence": "daily", "webhook": {"url": "ftp://x"}}, ["/webhook/url"]),
        ({"query": QUERY, "cadence": "daily", "metadata": {"a_key_longer_than_16": "x"}}, ["/metadata/a_key_longer_than_16"]),
        ({"query": QUERY, "cadence": "daily", "output_schema": {"type": "text"}}, ["/output_schema"]),
        ({"query": 7, "cadence": "weekly", "metadata": {"n": 1}}, ["/query", "/metadata/n"]),
    ):
        assert_422_at(post(msrv, ALPHA, body), *at)
    assert every_id(msrv.client()) == before


def test_alpha_list_by_id(msrv):
    key = msrv.keys[3]  # this test's own tenant
    http = msrv.http(key)
    assert alpha_ok(http.get(ALPHA), array=True) == []
    made = [alpha_ok(post(msrv, ALPHA, {"query": f"{QUERY} {i}", "cadence": "weekly"}, key=key), 201)["monitor_id"] for i in range(3)]
    made.append(create_stream(msrv.client(key), frequency="2w").monitor_id)
    alpha_ok(http.delete(f"{ALPHA}/{made[1]}"))
    ids = sorted(made)
    every = alpha_ok(http.get(ALPHA), array=True)
    assert [x["monitor_id"] for x in every] == ids, "not every monitor in id order"
    status = {x["monitor_id"]: x["status"] for x in every}
    assert status[made[1]] == "canceled" and sum(s == "active" for s in status.values()) == 3, status
    assert {x["monitor_id"]: x["cadence"] for x in every}[made[3]] == "every_two_weeks"

    def ids_of(**params) -> list:
        return [x["monitor_id"] for x in alpha_ok(http.get(ALPHA, params=params), array=True)]

    assert ids_of(monitor_id=ids[0]) == ids[1:]
    assert ids_of(monitor_id=ids[1], limit=1) == [ids[2]]
    assert ids_of(limit=2) == ids[:2]
    assert ids_of(limit=10000) == ids
    assert ids_of(monitor_id=ids[-1]) == []
    for params in ({"limit": "0"}, {"limit": "10001"}, {"limit": "many"}):
        assert_422_at(http.get(ALPHA, params=params), "/limit")


def test_alpha_update_and_delete(msrv):
    hook = {"url": "https://hooks.tarnwick-railway.example/a", "event_types": [DETECTED]}
    created = alpha_ok(
        post(msrv, ALPHA, {"query": QUERY, "cadence": "daily", "metadata": {"k": "v"}, "webhook": hook}), 201
    )
    mid = created["monitor_id"]
    state = without_run(created)

    def step(body: dict, changed: dict) -> dict:
        nonlocal state
        answered = alpha_ok(post(msrv, f"{ALPHA}/{mid}", body))
        now = without_run(alpha_ok(msrv.http().get(f"{ALPHA}/{mid}")))
        assert without_run(answered) == now
        assert now == {**state, **changed}, (body, now, state)
        state = now
        return now

    step({"cadence": "weekly"}, {"cadence": "weekly"})
    assert msrv.client().monitor.retrieve(mid).frequency == "1w"
    step({"query": "Tarnwick viaduct reopening"}, {"query": "Tarnwick viaduct reopening"})
    step({"query": None, "cadence": None}, {})  # null leaves query and cadence as they are
    step({"metadata": {"k": "w", "n": "2"}}, {"metadata": {"k": "w", "n": "2"}})
    step({"webhook": None, "metadata": None}, {"webhook": None, "metadata": None})
    step({"webhook": hook}, {"webhook": hook})
    for body, at in (({"cadence": "monthly"}, "/cadence"), ({"query": ""}, "/query"), ({"webhook": {"url": "x"}}, "/webhook/url")):
        assert_422_at(post(msrv, f"{ALPHA}/{mid}", body), at)
    assert without_run(alpha_ok(msrv.http().get(f"{ALPHA}/{mid}"))) == state

    # DELETE cancels: `canceled` here, `cancelled` in the SDK's view.
    deleted = alpha_ok(msrv.http().delete(f"{ALPHA}/{mid}"))
    assert deleted["status"] == "canceled" and without_run(deleted) == {**state, "status": "canceled"}
    assert msrv.client().monitor.retrieve(mid).status == "cancelled"
    assert alpha_ok(msrv.http().delete(f"{ALPHA}/{mid}"))["status"] == "canceled"
    assert_error(post(msrv, f"{ALPHA}/{mid}", {"cadence": "daily"}), 409)
    assert alpha_ok(post(msrv, f"{ALPHA}/{mid}", {"metadata": {"after": "cancel"}}))["metadata"] == {"after": "cancel"}


def test_alpha_events_and_lookback(msrv):
    mid = create_stream(msrv.client()).monitor_id
    http = msrv.http()
    body = alpha_ok(http.get(f"{ALPHA}/{mid}/events"), schema="MonitorEventList")
    assert set(body) == {"events"}, body
    for ok in ("1d", "10d", "2w", "52w", "365d"):
        alpha_ok(http.get(f"{ALPHA}/{mid}/events", params={"lookback_period": ok}), schema="MonitorEventList")
    for bad in ("12h", "0d", "0w", "1.5d", "d", "w", "abc", "-1d", "10", "1m"):
        assert_422_at(http.get(f"{ALPHA}/{mid}/events", params={"lookback_period": bad}), "/lookback_period")


def test_alpha_unknown_event_group_is_404(msrv):
    mid = create_stream(msrv.client()).monitor_id
    http = msrv.http()
    for group in ("mevtgrp_" + uuid.uuid4().hex, "nope", "mevtgrp_", "mevtgrp_test_" + uuid.uuid4().hex[:16]):
        try:
            assert_error(http.get(f"{ALPHA}/{mid}/event_groups/{group}"), 404, GROUP_NOT_FOUND)
        except AssertionError as exc:
            raise AssertionError(f"event group {group}: {exc}") from None
    assert_error(http.get(f"{ALPHA}/{NO_SUCH_MONITOR}/event_groups/mevtgrp_{uuid.uuid4().hex}"), 404, NOT_FOUND)


def test_alpha_simulate_event(msrv):
    http = msrv.http()
    client = msrv.client()
    # No webhook: 400, and nothing to deliver.
    bare = create_stream(client).monitor_id
    r = http.post(f"{ALPHA}/{bare}/simulate_event")
    assert_error(r, 400)
    assert r.json()["error"]["message"].startswith(NO_WEBHOOK), r.text
    assert_error(http.post(f"{ALPHA}/{bare}/simulate_event", params={"event_type": DETECTED}), 400)
    # An event type that is no monitor's: 422.
    for bad in ("task_run.status", "monitor.event"):
        assert_422_at(http.post(f"{ALPHA}/{bare}/simulate_event", params={"event_type": bad}), "/event_type")

    rcv = Receiver()
    try:
        secret = secret_of(msrv, msrv.key)
        hook = {"url": rcv.url("/monitor-hook"), "event_types": [DETECTED, FAILED]}
        mid = create_stream(client, metadata={"thread": "T-42"}, webhook=hook).monitor_id

        def delivered(event_type: str, after: int) -> dict:
            def find():
                return next((h for h in rcv.snapshot()[after:] if h.json.get("type") == event_type), None)

            hit = wait_until(find, 20, interval=0.05, what=f"a {event_type} delivery")
            assert hit.method == "POST" and hit.path == "/monitor-hook", hit
            assert hit.headers.get("content-type", "").split(";")[0] == "application/json", hit.headers
            assert signature_ok(hit, secret), hit.headers
            body = hit.json
            assert set(body) == {"type", "timestamp", "data"}, body
            stamp(body["timestamp"])
            data = body["data"]
            assert set(data) == {"monitor_id", "event", "metadata"}, data
            assert data["monitor_id"] == mid and data["metadata"] == {"thread": "T-42"}, data
            return data

        # The default type: monitor.event.detected, with an event group the API then shows.
        seen = len(rcv.snapshot())
        r = http.post(f"{ALPHA}/{mid}/simulate_event")
        assert r.status_code == 204 and r.content == b"", r.text
        data = delivered(DETECTED, seen)
        gid = data["event"]["event_group_id"]
        assert isinstance(gid, str) and gid.startswith("mevtgrp_"), data
        group = alpha_ok(http.get(f"{ALPHA}/{mid}/event_groups/{gid}"), schema="MonitorEventList")
        assert len(group["events"]) == 1, group
        (event,) = group["events"]
        assert event["type"] == "event" and event["event_group_id"] == gid, event
        # ... to its tenant only, and under its monitor only.
        assert_error(msrv.http(msrv.other_key).get(f"{ALPHA}/{mid}/event_groups/{gid}"), 404)
        assert_error(http.get(f"{ALPHA}/{NO_SUCH_MONITOR}/event_groups/{gid}"), 404)

        # A failure: the event is the SDK's error event.
        seen = len(rcv.snapshot())
        r = http.post(f"{ALPHA}/{mid}/simulate_event", params={"event_type": FAILED})
        assert r.status_code == 204, r.text
        data = delivered(FAILED, seen)
        MonitorErrorEvent.model_validate(data["event"])
        assert data["event"].get("event_type") == "error", data

        # Another tenant cannot simulate on it.
        assert_error(msrv.http(msrv.other_key).post(f"{ALPHA}/{mid}/simulate_event"), 404, NOT_FOUND)
        # The group is this monitor's: another monitor of the tenant has no such group.
        assert_error(http.get(f"{ALPHA}/{bare}/event_groups/{gid}"), 404, GROUP_NOT_FOUND)
    finally:
        rcv.close()


# ======================================================================================
# (b) EXECUTIONS. Everything below runs real executions: the monitor scheduler, the engine's
# watcher over the loopback site, and (for snapshots) the scripted processor.
# ======================================================================================

SITE_HOST = "tarnwick-railway.example"
BASE_PAGES = {
    "news": (
        "Tarnwick Light Railway Restoration News",
        [
            "The Tarnwick Light Railway Trust began lifting the old track at Holloway cutting in January so that "
            "engineers could survey the drainage.",
            "Volunteers repainted the signal box at Tarnwick station this winter, completing the first phase of the "
            "railway restoration.",
        ],
    ),
    "history": (
        "History of the Tarnwick Light Railway",
        [
            "The Tarnwick Light Railway opened in 1902 and carried slate from the Fellmoor quarries until the last "
            "train ran in 1951.",
            "The first restoration of the Tarnwick railway was proposed in 1974 by a group of local enthusiasts who "
            "cleared the overgrown trackbed by hand.",
        ],
    ),
    "society": (
        "The Tarnwick Light Railway Society",
        [
            "The Tarnwick Light Railway Society raises money for the restoration through its annual steam gala, "
            "held every August at Fellmoor yard.",
        ],
    ),
}
STORY = (
    "The Tarnwick Light Railway Trust announced that the rebuilt Calder viaduct will reopen to trains on "
    "14 September 2025, after two years of repairs to its arches."
)
# The same story as another page tells it.
STORY_REWORDED = (
    "Trains can cross the Calder viaduct on the Tarnwick light railway again from September 14, 2025, when the "
    "Trust reopens it after two years of repairs to the arches."
)
EXECUTION_WAIT = 90  # seconds one execution over the three pages may take
# The watch for an execution that must not come (after a restart): the monitor loop claims
# everything due at once, so a second execution of a merged slot would follow within it.
QUIET_EXECUTIONS = 5.0
STREAM_ARGS = ["--allow-private-fetch", "--cache-max-age-seconds", "0", *HOOK_ARGS]


class ChangingSite:
    """The Tarnwick Light Railway's site on loopback: three pages (news, history, society),
    each a title and paragraphs that a test can add to, plus a view counter and a footer
    date that change on every view, as a real page's do. Every request is recorded."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list = []
        self.views = 0
        self.reset()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.do_GET(head=True)

            def do_GET(self, head: bool = False):
                path = unquote(urlsplit(self.path).path)
                status, ctype, body = site.answer(path)
                with site.lock:
                    site.requests.append(path)
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/{SITE_HOST}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.pages = {name: (title, list(paras)) for name, (title, paras) in BASE_PAGES.items()}

    def add(self, page: str, paragraph: str) -> None:
        with self.lock:
            self.pages[page][1].append(paragraph)

    def url(self, page: str) -> str:
        return f"{self.base}{page}.html"

    def fetched(self, page: str, since: int = 0) -> int:
        with self.lock:
            return sum(1 for p in self.requests[since:] if p == f"/{SITE_HOST}/{page}.html")

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def answer(self, path: str):
        rel = path.lstrip("/")
        if rel == f"{SITE_HOST}/sitemap.xml":
            locs = "".join(f"<url><loc>{self.url(name)}</loc></url>" for name in BASE_PAGES)
            body = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
            return 200, "application/xml", body.encode()
        name = rel[len(SITE_HOST) + 1 : -len(".html")] if rel.startswith(SITE_HOST + "/") and rel.endswith(".html") else None
        with self.lock:
            page = self.pages.get(name) if name else None
            if page is None:
                return 404, "text/plain; charset=utf-8", b"not found"
            self.views += 1
            views = self.views
            title, paragraphs = page[0], list(page[1])
        paras = "".join(f"<p>{p}</p>" for p in paragraphs)
        html = (
            f"<html><head><title>{title}</title></head><body>"
            f'<nav><a href="index.html">Home</a> | <a href="news.html">News</a> | <a href="society.html">Join</a></nav>'
            f"<article><h1>{title}</h1>{paras}<p>Page views: {views}</p></article>"
            f"<footer>Generated on 2025-05-{views % 28 + 1:02d} at 10:{views % 60:02d} by the Tarnwick Light Railway "
            f"Society website</footer></body></html>"
        )
        return 200, "text/html; charset=utf-8", html.encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def site():
    s = ChangingSite()
    yield s
    s.close()


def site_server(server_factory, parallax_bin, site: ChangingSite, backend: str):
    """A real-pipeline server (no scripted processor, no LLM) whose local index, its search
    provider, holds the site's three pages; not started."""
    srv = server_factory(backend, start=False, scripted=False, extra_args=STREAM_ARGS, env=LOG_INFO)
    proc = index_add(parallax_bin, srv.data_dir, f"{site.base}sitemap.xml", database_url=srv.database_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f"indexed {len(BASE_PAGES)} page(s); 0 skipped" in proc.stdout, proc.stdout
    return srv


@pytest.fixture(scope="module")
def stream_server(server_factory, parallax_bin, site):
    srv = site_server(server_factory, parallax_bin, site, "sqlite").start()
    yield srv
    srv.stop()


@pytest.fixture
def ssrv(stream_server, site, request):
    """The site's SQLite server, with the site as first indexed."""
    site.reset()
    if not stream_server.alive():
        stream_server.start()
    try:
        yield from _guard(stream_server, request)
    finally:
        site.reset()


def wait_executions(client: parallel.Parallel, mid: str, n: int, timeout: float = EXECUTION_WAIT) -> list:
    """Wait until the monitor's log records `n` executions (never more); returns the log.
    Also checks that `last_run_at` is set once one finished."""
    log = wait_until(
        lambda: (lambda evs: evs if executions(evs) >= n else None)(all_events(client, mid)),
        timeout,
        interval=0.2,
        what=f"monitor {mid} to record {n} execution(s)",
    )
    assert executions(log) == n, f"{executions(log)} executions recorded, expected {n}: {log}"
    m = client.monitor.retrieve(mid)
    assert m.last_run_at is not None, m
    return log


def check_stream_event(e, site: ChangingSite) -> set:
    """An event_stream event's shape; returns the URLs its output cites."""
    assert e.event_type == "event_stream", e
    assert EVENT_ID.match(e.event_id) and GROUP_ID.match(e.event_group_id), e
    assert e.event_date is None or PARTIAL_DATE.match(e.event_date), e.event_date
    assert e.output.type in ("text", "json"), e.output
    cited = {c.url for b in e.output.basis for c in (b.citations or [])}
    assert cited, f"an event citing nothing: {e}"
    outside = {u for u in cited if not u.startswith(site.base)}
    assert not outside, f"citations of pages outside the site: {outside}"
    return cited


def test_event_stream_reports_a_change_once(ssrv, site):
    client = ssrv.client()
    rcv = Receiver()
    try:
        secret = secret_of(ssrv, ssrv.key)
        m = create_stream(
            client,
            settings={"include_backfill": False},
            metadata={"case": "change"},
            webhook={"url": rcv.url("/detected"), "event_types": [DETECTED]},
        )
        mid = m.monitor_id

        # 1. The first execution at creation, without backfill: a completion and no event.
        log = wait_executions(client, mid, 1)
        assert [e.event_type for e in log] == ["completion"], log
        assert isinstance(log[0], MonitorCompletionEvent), log
        assert client.monitor.events(mid).events == [], "events without include_completions show a completion"
        first_run = stamp(client.monitor.retrieve(mid).last_run_at)

        # 2. Nothing changed (but the counters and footers): another completion.
        mark = site.mark()
        client.monitor.trigger(mid)
        log = wait_executions(client, mid, 2)
        assert [e.event_type for e in log] == ["completion", "completion"], log
        assert client.monitor.events(mid).events == []
        assert stamp(client.monitor.retrieve(mid).last_run_at) > first_run
        assert site.fetched("news", mark) >= 1, "the execution did not read the news page"

        # 3. The news page tells a new story: exactly one event group, citing that page.
        site.add("news", STORY)
        mark = site.mark()
        client.monitor.trigger(mid)
        log = wait_executions(client, mid, 3)
        assert site.fetched("news", mark) >= 1, "the execution did not read the news page again"
        groups = groups_of(log)
        assert len(groups) == 1, groups
        ((gid, evs),) = groups.items()
        assert log[0].event_type == "event_stream", "the newest execution is not the one that found the story"
        for e in evs:
            assert site.url("news") in check_stream_event(e, site), e
        text = json.dumps([e.output.to_dict(mode="json") for e in evs])
        assert "Calder viaduct" in text, text
        # Without completions, the events are that group's; by group id, the same.
        shown = client.monitor.events(mid).events
        assert [e.event_id for e in shown] == [e.event_id for e in evs], shown
        assert [e.event_id for e in client.monitor.events(mid, event_group_id=gid).events] == [e.event_id for e in evs]
        # The spec's view of the group and of the log.
        group = alpha_ok(ssrv.http().get(f"{ALPHA}/{mid}/event_groups/{gid}"), schema="MonitorEventList")
        assert len(group["events"]) == len(evs), group
        for g in group["events"]:
            assert g["type"] == "event" and g["event_group_id"] == gid and site.url("news") in g["source_urls"], g
        alpha_log = alpha_ok(ssrv.http().get(f"{ALPHA}/{mid}/events"), schema="MonitorEventList")["events"]
        assert sorted(e["type"] for e in alpha_log) == sorted(["completion"] * 2 + ["event"] * len(evs)), alpha_log
        # One monitor.event.detected delivery, naming the group.
        rcv.wait_for(1, 20, "(the monitor.event.detected delivery)")
        hit = rcv.snapshot()[0]
        assert signature_ok(hit, secret), hit.headers
        assert hit.json["type"] == DETECTED, hit.json
        assert hit.json["data"]["monitor_id"] == mid and hit.json["data"]["metadata"] == {"case": "change"}
        assert hit.json["data"]["event"]["event_group_id"] == gid, hit.json

        # 4. Unchanged again: no new group.
        client.monitor.trigger(mid)
        log = wait_executions(client, mid, 4)
        assert list(groups_of(log)) == [gid] and log[0].event_type == "completion", log

        # 5. A second page tells the same story in its own words: not new.
        site.add("society", STORY_REWORDED)
        mark = site.mark()
        client.monitor.trigger(mid)
        log = wait_executions(client, mid, 5)
        assert site.fetched("society", mark) >= 1, "the execution did not read the society page"
        assert list(groups_of(log)) == [gid], f"the reworded story was reported again: {groups_of(log)}"
        assert log[0].event_type == "completion", log[0]
        # ... and nothing more was delivered.
        assert_quiet(rcv, 1, ssrv)
    finally:
        rcv.close()


def test_backfill_reports_on_the_first_execution(ssrv, site):
    client = ssrv.client()
    m = create_stream(client, settings={"include_backfill": True})
    log = wait_executions(client, m.monitor_id, 1)
    groups = groups_of(log)
    assert len(groups) == 1 and not any(e.event_type == "completion" for e in log), log
    ((gid, evs),) = groups.items()
    cited = set()
    for e in evs:
        cited |= check_stream_event(e, site)
    assert cited <= {site.url(p) for p in BASE_PAGES}, cited
    assert client.monitor.retrieve(m.monitor_id).settings.include_backfill is True


def test_snapshot_monitor_keeps_its_latest_snapshot(msqlite):
    client = msqlite.client()
    question = "When did the Tarnwick Light Railway open?"
    run_id = completed_run(client, question)
    baseline = client.task_run.result(run_id, api_timeout=30).output
    m = client.monitor.create(type="snapshot", frequency="1d", settings={"task_run_id": run_id})
    assert m.output is not None and m.output.latest_snapshot is None, m.output
    log = wait_executions(client, m.monitor_id, 1)
    got = client.monitor.retrieve(m.monitor_id)
    check_monitor(got)
    assert got.output.latest_snapshot is not None, "no latest snapshot after the first execution"
    assert got.output.latest_snapshot.type == baseline.type, (got.output.latest_snapshot, baseline)
    for e in log:
        assert e.event_type in ("snapshot", "completion"), e


@pytest.mark.parametrize("backend", BACKENDS)
def test_restart_runs_missed_slots_once(server_factory, parallax_bin, site, backend):
    """Hourly monitors, each run once at creation; the server stops and comes back with its
    monitor clock two hours ahead (two slots missed): each runs exactly once more."""
    srv = site_server(server_factory, parallax_bin, site, backend).start()
    try:
        client = srv.client()
        mids = [create_stream(client, query=f"{QUERY} {i}", frequency="1h").monitor_id for i in range(3)]
        created = {mid: stamp(client.monitor.retrieve(mid).created_at) for mid in mids}
        for mid in mids:
            wait_executions(client, mid, 1)
        srv.stop()
        srv.extra_args = [*srv.extra_args, "--monitor-clock-offset-seconds", "7200"]
        srv.start()
        client = srv.client()
        for mid in mids:
            wait_executions(client, mid, 2)
        time.sleep(QUIET_EXECUTIONS)
        for mid in mids:
            log = all_events(client, mid)
            assert executions(log) == 2, f"{mid}: {executions(log)} executions after the restart, expected 2: {log}"
            ran = stamp(client.monitor.retrieve(mid).last_run_at)
            assert ran - created[mid] >= dt.timedelta(seconds=7200), (created[mid], ran)
    except BaseException:
        print(srv.log_tail())
        raise
    finally:
        srv.stop()


# A snapshot execution that outlives the kill: the scripted processor sleeps this long in the
# baseline run and in each execution, which re-runs the baseline's request.
KILLED_SLEEP_MS = 4000
KILL_LEASE = 2  # --lease-seconds of both starts


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_node_killed_mid_execution_loses_nothing(fresh_server, backend):
    """SIGKILL about a second into a snapshot monitor's first execution (nothing recorded
    yet), and a restart once its lease has expired: the orphaned execution is claimed again
    (attempt 2) and recorded exactly once, as the completion the deterministic scripted output
    makes; no second execution follows."""
    lease = ["--lease-seconds", str(KILL_LEASE)]
    srv = fresh_server(backend, extra_args=lease, env=LOG_INFO)
    client = srv.client()
    run_id = completed_run(client, "Who runs the Tarnwick Light Railway?", metadata={SLEEP_KEY: KILLED_SLEEP_MS})
    mid = client.monitor.create(type="snapshot", frequency="1d", settings={"task_run_id": run_id}).monitor_id
    started = ("monitor execution started", f"monitor_id={mid} ")
    srv.wait_for_log(*started, timeout=20)
    time.sleep(1.0)
    # Mid-execution: nothing recorded yet.
    assert all_events(client, mid) == [], "the execution ended before the kill"
    assert client.monitor.retrieve(mid).last_run_at is None
    srv.kill()
    # Past the lease (renewed every third of it), so the restarted node's first look finds the
    # execution orphaned; a node already up would find it at its next poll.
    time.sleep(KILL_LEASE + 1)
    srv.start()
    client = srv.client()

    log = wait_until(
        lambda: (lambda evs: evs if evs else None)(all_events(client, mid)),
        30,
        interval=0.2,
        what="the orphaned execution to be run again and recorded",
    )
    m = client.monitor.retrieve(mid)
    assert m.last_run_at is not None, m
    assert m.output.latest_snapshot is not None, m.output
    time.sleep(QUIET_EXECUTIONS)
    log = all_events(client, mid)
    assert len(log) == 1 and isinstance(log[0], MonitorCompletionEvent), f"expected one completion: {log}"
    assert client.monitor.retrieve(mid).last_run_at == m.last_run_at, "a second execution ran"
    # What the server says: started twice (the second a new attempt of the same execution),
    # recorded once.
    attempts = [int(re.search(r" attempt=(\d+)", line).group(1)) for line in srv.log_lines(*started)]
    assert attempts == [1, 2], attempts
    assert len(srv.log_lines("monitor execution recorded", f"monitor_id={mid}")) == 1, srv.log_tail()


def test_execution_without_change_delivers_execution_completed(ssrv):
    client = ssrv.client()
    rcv = Receiver()
    try:
        secret = secret_of(ssrv, ssrv.key)
        m = create_stream(
            client,
            settings={"include_backfill": False},
            metadata={"case": "completed"},
            webhook={"url": rcv.url("/completed"), "event_types": [COMPLETED]},
        )
        mid = m.monitor_id
        wait_executions(client, mid, 1)
        rcv.wait_for(1, 20, "(the first monitor.execution.completed)")
        client.monitor.trigger(mid)
        wait_executions(client, mid, 2)
        rcv.wait_for(2, 20, "(the second monitor.execution.completed)")
        hits = assert_quiet(rcv, 2, ssrv)
        assert len({h.headers["webhook-id"] for h in hits}) == 2, "one delivery sent twice"
        for hit in hits:
            assert hit.method == "POST" and hit.path == "/completed", hit
            assert signature_ok(hit, secret), hit.headers
            body = hit.json
            assert set(body) == {"type", "timestamp", "data"} and body["type"] == COMPLETED, body
            stamp(body["timestamp"])
            data = body["data"]
            assert data["monitor_id"] == mid and data["metadata"] == {"case": "completed"}, data
            event = MonitorCompletionEvent.model_validate(data["event"])
            assert event.event_type == "completion", data
    finally:
        rcv.close()
