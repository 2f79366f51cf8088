"""The Memory API through the official SDK (`client.beta.memory.retrieve/evict/clear`, strict
response validation) and raw httpx, on real `parallax serve` processes of both backends.

A module server per backend (scripted processor: task runs end at once, their output echoing
their input) with three tenants: keys[0] for most tests, keys[1] as the other tenant,
keys[2] for the personal-scope test only (personal memory is per tenant, and the other tests
leave runs in keys[0]'s). Each test uses scope keys of its own.

- A run created with `memory_scope_key` is remembered there once it completes: kind `task`,
  its input and output as excerpts, `updated_at` when it completed; newest first without a
  query; a query ranks the relevant run first; `kind`, `since` and `limit` filter.
- Runs without a key go to the tenant's personal memory, apart from every keyed scope.
- Evict removes one entry (204); the run is still served by the Task API; evicting it again,
  or an unknown id, or an id of another scope, is 404 in the API's error shape.
- Clear empties that scope only (204).
- Monitors and FindAll runs created with a key appear with their kinds (`status`,
  `matched_events`, `matched_count`); a cancelled monitor says so.
- 422 for a bad kind, limit or since and for unknown fields; `/v1/memory/...` answers too.
- Tenants: the same key in another tenant is another scope, which cannot evict or clear it.
- Memory as context (a real-pipeline server whose only search provider is a SearXNG stand-in
  on loopback): a first run in scope K cites page P, which the stand-in returns only for
  queries naming the lighthouse; a related question in K reads and cites P from memory; the
  same question in another scope does not; a run that names no scope does not read personal
  memory, though it holds the page.
"""

from __future__ import annotations

import datetime as dt
import uuid

import parallel
import pytest

from support import BACKENDS, assert_error, new_key

RETRIEVE = "/v1beta/memory/retrieve"
EVICT = "/v1beta/memory/evict"
CLEAR = "/v1beta/memory/clear"


@pytest.fixture(scope="module")
def memory_servers(server_factory):
    made: dict = {}

    def get(backend: str):
        if backend not in made:
            made[backend] = server_factory(backend, keys=[new_key() for _ in range(3)])
        srv = made[backend]
        if not srv.alive():
            srv.start()
        return srv

    yield get
    for srv in made.values():
        srv.stop()


@pytest.fixture(params=BACKENDS)
def srv(request, memory_servers):
    server = memory_servers(request.param)
    yield server
    server.close_clients()


def scope() -> str:
    return f"scope-{uuid.uuid4().hex[:12]}"


def completed(client: parallel.Parallel, text: str, **kw) -> str:
    """A scripted task run, completed; returns its id."""
    run = client.task_run.create(input=text, processor="lite", **kw)
    result = client.task_run.result(run.run_id, api_timeout=30)
    assert result.run.status == "completed"
    return run.run_id


def ids(response) -> list:
    return [r.id for r in response.results]


def test_a_completed_run_is_remembered_in_its_scope(srv):
    client = srv.client()
    key = scope()
    assert client.beta.memory.retrieve(memory_scope_key=key).results == []
    run_id = completed(client, "When did Quellmoor receive its town charter?", memory_scope_key=key)
    got = client.beta.memory.retrieve(memory_scope_key=key)
    assert ids(got) == [run_id]
    entry = got.results[0]
    assert entry.kind == "task"
    assert entry.input_excerpt == "When did Quellmoor receive its town charter?"
    assert entry.output_excerpt == "echo: When did Quellmoor receive its town charter?"
    run = client.task_run.retrieve(run_id)
    modified = dt.datetime.fromisoformat(str(run.modified_at).replace("Z", "+00:00"))
    assert abs((entry.updated_at - modified).total_seconds()) < 0.001
    # The same through /v1 and raw: the wire shape exactly.
    raw = srv.http().post("/v1/memory/retrieve", json={"memory_scope_key": key})
    assert raw.status_code == 200, raw.text
    body = raw.json()
    assert set(body) == {"results"}
    assert set(body["results"][0]) == {"kind", "id", "input_excerpt", "output_excerpt", "updated_at"}


def test_query_ranks_and_filters(srv):
    client = srv.client()
    key = scope()
    canal = completed(client, "When does the Tarnwick canal lock reopen to boats?", memory_scope_key=key)
    before_third = dt.datetime.now(dt.timezone.utc)
    charter = completed(client, "Who granted the Quellmoor town charter?", memory_scope_key=key)
    # Newest first without a query.
    assert ids(client.beta.memory.retrieve(memory_scope_key=key)) == [charter, canal]
    # The relevant run first, whatever its age.
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, query="canal lock boats"))[0] == canal
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, query="town charter"))[0] == charter
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, limit=1)) == [charter]
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, since=before_third)) == [charter]
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, since="2000-01-01T00:00:00Z")) == [charter, canal]
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, kind="task")) == [charter, canal]
    assert client.beta.memory.retrieve(memory_scope_key=key, kind="monitor").results == []
    assert client.beta.memory.retrieve(memory_scope_key=key, kind="findall").results == []


def test_personal_memory_is_apart_from_keyed_scopes(srv):
    client = srv.client(srv.keys[2])
    key = scope()
    mine = completed(client, "a personal question")
    nulled = completed(client, "another personal question", memory_scope_key=None)
    keyed = completed(client, "a keyed question", memory_scope_key=key)
    assert ids(client.beta.memory.retrieve()) == [nulled, mine]
    assert ids(client.beta.memory.retrieve(memory_scope_key=None)) == [nulled, mine]
    assert ids(client.beta.memory.retrieve(memory_scope_key=key)) == [keyed]
    # Clearing the keyed scope leaves personal memory; clearing personal leaves the key.
    assert client.beta.memory.clear(memory_scope_key=key) is None
    assert ids(client.beta.memory.retrieve()) == [nulled, mine]
    assert client.beta.memory.clear() is None
    assert client.beta.memory.retrieve().results == []
    assert client.beta.memory.retrieve(memory_scope_key=key).results == []
    later = completed(client, "a later question", memory_scope_key=key)
    assert ids(client.beta.memory.retrieve(memory_scope_key=key)) == [later]


def test_evict_removes_one_entry_and_keeps_the_run(srv):
    client = srv.client()
    key = scope()
    first = completed(client, "first question", memory_scope_key=key)
    second = completed(client, "second question", memory_scope_key=key)
    raw = client.beta.memory.with_raw_response.evict(id=first, kind="task", memory_scope_key=key)
    assert raw.status_code == 204
    assert ids(client.beta.memory.retrieve(memory_scope_key=key)) == [second]
    assert client.task_run.retrieve(first).status == "completed"
    assert client.task_run.result(first).output.content == "echo: first question"
    # Gone already, never there, another scope, another kind: 404.
    for body in (
        {"id": first, "kind": "task", "memory_scope_key": key},
        {"id": "trun_" + "0" * 32, "kind": "task", "memory_scope_key": key},
        {"id": second, "kind": "task", "memory_scope_key": scope()},
        {"id": second, "kind": "task"},
        {"id": second, "kind": "monitor", "memory_scope_key": key},
    ):
        assert_error(srv.http().post(EVICT, json=body), 404)
    with pytest.raises(parallel.NotFoundError) as err:
        client.beta.memory.evict(id=first, kind="task", memory_scope_key=key)
    assert_error(err.value, 404)
    assert ids(client.beta.memory.retrieve(memory_scope_key=key)) == [second]


def test_clear_empties_that_scope_only(srv):
    client = srv.client()
    key, other = scope(), scope()
    completed(client, "one", memory_scope_key=key)
    completed(client, "two", memory_scope_key=key)
    kept = completed(client, "three", memory_scope_key=other)
    raw = client.beta.memory.with_raw_response.clear(memory_scope_key=key)
    assert raw.status_code == 204
    assert client.beta.memory.retrieve(memory_scope_key=key).results == []
    assert ids(client.beta.memory.retrieve(memory_scope_key=other)) == [kept]
    # Clearing an empty scope is no error.
    assert client.beta.memory.clear(memory_scope_key=key) is None
    resp = srv.http().post("/v1/memory/clear", json={"memory_scope_key": other})
    assert resp.status_code == 204 and resp.content == b""
    assert client.beta.memory.retrieve(memory_scope_key=other).results == []


def test_monitors_and_findall_runs_are_remembered(srv):
    client = srv.client()
    key = scope()
    monitor = client.monitor.create(
        type="event_stream",
        frequency="1d",
        settings={"query": "Tarnwick Light Railway restoration news"},
        memory_scope_key=key,
    )
    findall = client.beta.findall.create(
        objective="Find all dental clinics in Harrowfield",
        entity_type="dental clinics",
        match_conditions=[{"name": "in_town", "description": "Located in Harrowfield"}],
        generator="base",
        match_limit=5,
        memory_scope_key=key,
    )
    got = client.beta.memory.retrieve(memory_scope_key=key)
    by_id = {r.id: r for r in got.results}
    assert set(by_id) == {monitor.monitor_id, findall.findall_id}
    m = by_id[monitor.monitor_id]
    assert (m.kind, m.status, m.input_excerpt) == ("monitor", "active", "Tarnwick Light Railway restoration news")
    assert m.matched_events == []
    f = by_id[findall.findall_id]
    assert (f.kind, f.input_excerpt) == ("findall", "Find all dental clinics in Harrowfield")
    assert f.matched_count >= 0
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, kind="monitor")) == [monitor.monitor_id]
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, kind="findall")) == [findall.findall_id]
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, query="dental clinics"))[0] == findall.findall_id
    assert ids(client.beta.memory.retrieve(memory_scope_key=key, query="railway restoration"))[0] == monitor.monitor_id

    client.monitor.cancel(monitor.monitor_id)
    m = client.beta.memory.retrieve(memory_scope_key=key, kind="monitor").results[0]
    assert m.status == "cancelled"
    client.beta.memory.evict(id=monitor.monitor_id, kind="monitor", memory_scope_key=key)
    client.beta.memory.evict(id=findall.findall_id, kind="findall", memory_scope_key=key)
    assert client.beta.memory.retrieve(memory_scope_key=key).results == []
    assert client.monitor.retrieve(monitor.monitor_id).status == "cancelled"
    assert client.beta.findall.retrieve(findall.findall_id).findall_id == findall.findall_id


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"kind": "tasks"}, "/kind"),
        ({"kind": 3}, "/kind"),
        ({"limit": 0}, "/limit"),
        ({"limit": 101}, "/limit"),
        ({"limit": "ten"}, "/limit"),
        ({"since": "last tuesday"}, "/since"),
        ({"query": ["a"]}, "/query"),
        ({"memory_scope_key": 5}, "/memory_scope_key"),
        ({"memroy_scope_key": "k"}, "/memroy_scope_key"),
    ],
)
def test_retrieve_refuses_bad_fields(srv, body, pointer):
    detail = assert_error(srv.http().post(RETRIEVE, json=body), 422)
    assert detail["pointer"] == pointer, detail


def test_bad_requests_through_the_sdk_and_for_evict_and_clear(srv):
    client = srv.client()
    with pytest.raises(parallel.UnprocessableEntityError) as err:
        client.beta.memory.retrieve(limit=500)
    assert assert_error(err.value, 422)["pointer"] == "/limit"
    with pytest.raises(parallel.UnprocessableEntityError) as err:
        client.beta.memory.retrieve(since="not a time")
    assert assert_error(err.value, 422)["pointer"] == "/since"
    with pytest.raises(parallel.UnprocessableEntityError) as err:
        client.beta.memory.retrieve(kind="everything")  # type: ignore[arg-type]
    assert assert_error(err.value, 422)["pointer"] == "/kind"
    for body, pointer in (
        ({"kind": "task"}, "/id"),
        ({"id": "trun_x"}, "/kind"),
        ({"id": "trun_x", "kind": "run"}, "/kind"),
        ({"id": "trun_x", "kind": "task", "scope": "k"}, "/scope"),
    ):
        assert assert_error(srv.http().post(EVICT, json=body), 422)["pointer"] == pointer
    assert assert_error(srv.http().post(CLEAR, json={"all": True}), 422)["pointer"] == "/all"
    assert assert_error(srv.http().post(CLEAR, content=b"{", headers={"content-type": "application/json"}), 422)
    # No key: 401, like every route.
    assert_error(srv.http(auth=False).post(RETRIEVE, json={}), 401)


def test_tenants_never_see_each_others_memory(srv):
    mine, theirs = srv.client(srv.keys[0]), srv.client(srv.keys[1])
    key = scope()
    my_run = completed(mine, "my question", memory_scope_key=key)
    their_run = completed(theirs, "their question", memory_scope_key=key)
    assert ids(mine.beta.memory.retrieve(memory_scope_key=key)) == [my_run]
    assert ids(theirs.beta.memory.retrieve(memory_scope_key=key)) == [their_run]
    with pytest.raises(parallel.NotFoundError):
        theirs.beta.memory.evict(id=my_run, kind="task", memory_scope_key=key)
    theirs.beta.memory.clear(memory_scope_key=key)
    assert ids(mine.beta.memory.retrieve(memory_scope_key=key)) == [my_run]
    assert theirs.beta.memory.retrieve(memory_scope_key=key).results == []


# --------------------------------------------------------------------------------------
# memory as context: a later run in the same scope reads what earlier runs cited
# --------------------------------------------------------------------------------------

LIGHTHOUSE_PAGE = """<!doctype html><html><head><title>Brannock Point lighthouse</title></head>
<body><article><h1>Brannock Point lighthouse</h1>
<p>The Brannock Point lighthouse lamp was first lit in 1881. Its first keeper was Odalys Venn,
who kept the Brannock light for thirty-two years and logged every ship that passed the point.</p>
<p>The tower is built of grey granite quarried on the headland and stands 31 metres tall.</p>
</article></body></html>"""


class Web:
    """A loopback origin serving the lighthouse page P, and a SearXNG stand-in that finds P
    only for queries naming the lighthouse: a run asking about anything else cannot find P
    by searching."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import json
        import threading
        from urllib.parse import parse_qs, urlsplit

        web = self
        self.queries: list = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, ctype: str, body: bytes):
                self.send_response(200)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path == "/lighthouse.html":
                    return self._send("text/html; charset=utf-8", LIGHTHOUSE_PAGE.encode())
                query = (parse_qs(parts.query).get("q") or [""])[0]
                web.queries.append(query)
                results = []
                if "lighthouse" in query.lower():
                    results.append({"url": web.page, "title": "Brannock Point lighthouse",
                                    "content": "The Brannock Point lighthouse lamp was first lit in 1881."})
                body = json.dumps({"query": query, "number_of_results": len(results), "results": results,
                                   "answers": [], "corrections": [], "infoboxes": [], "suggestions": [],
                                   "unresponsive_engines": []}).encode()
                return self._send("application/json", body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.page = f"{self.base}/lighthouse.html"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def cited(output) -> set:
    return {c.url for field in (output.basis or []) for c in (field.citations or [])}


def test_a_later_run_in_the_scope_reads_what_earlier_runs_cited(fresh_server):
    web = Web()
    srv = fresh_server(
        "sqlite",
        scripted=False,
        extra_args=["--allow-private-fetch", "--search", "searxng", "--searxng-url", web.base],
    )
    client = srv.client()
    key, other = scope(), scope()

    first = client.task_run.create(
        input="When was the Brannock Point lighthouse lamp first lit?", processor="lite", memory_scope_key=key
    )
    first_result = client.task_run.result(first.run_id, api_timeout=60)
    assert first_result.run.status == "completed"
    assert web.page in cited(first_result.output), first_result.output

    question = "Who was the first keeper at Brannock Point?"
    # Searching alone never finds P for this question.
    elsewhere = client.task_run.create(input=question, processor="lite", memory_scope_key=other)
    elsewhere_result = client.task_run.result(elsewhere.run_id, api_timeout=60)
    if elsewhere_result.run.status == "completed":
        assert web.page not in cited(elsewhere_result.output), elsewhere_result.output

    again = client.task_run.create(input=question, processor="lite", memory_scope_key=key)
    again_result = client.task_run.result(again.run_id, api_timeout=60)
    assert again_result.run.status == "completed"
    assert web.page in cited(again_result.output), again_result.output
    # P was read from memory, not found: no search for the second question could return it.
    keeper_queries = [q for q in web.queries if "keeper" in q.lower()]
    assert keeper_queries and not any("lighthouse" in q.lower() for q in keeper_queries), web.queries


def test_a_run_without_a_scope_key_does_not_read_personal_memory(fresh_server):
    web = Web()
    srv = fresh_server(
        "sqlite",
        scripted=False,
        extra_args=["--allow-private-fetch", "--search", "searxng", "--searxng-url", web.base],
    )
    client = srv.client()
    first = client.task_run.create(input="When was the Brannock Point lighthouse lamp first lit?", processor="lite")
    first_result = client.task_run.result(first.run_id, api_timeout=60)
    assert first_result.run.status == "completed"
    assert web.page in cited(first_result.output), first_result.output
    # Personal memory holds the run and the page it cited...
    remembered = client.beta.memory.retrieve(query="lighthouse lamp")
    assert [r.id for r in remembered.results] == [first.run_id]
    # ...but a run that names no scope does not read it.
    again = client.task_run.create(input="Who was the first keeper at Brannock Point?", processor="lite")
    again_result = client.task_run.result(again.run_id, api_timeout=60)
    if again_result.run.status == "completed":
        assert web.page not in cited(again_result.output), again_result.output
