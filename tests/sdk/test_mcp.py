"""MCP tools on task runs (`mcp_servers`, beta `mcp-server-2025-07-17`) and the
`parallel-beta` header, through the official SDK with strict response validation.

Real MCP servers run on loopback in this module (the `mcp` library's `MCPServer`, streamable
HTTP, under uvicorn), each recording every HTTP request it receives and every tool call. The
Parallax servers are real-pipeline ones (no `--scripted-processor`) whose local index holds
the fixture web of test_research.py; one runs without `--allow-private-fetch`, one with the
scripted LLM (fake_llm.py, the only fake).

- A run created with the beta calls the tool that matches its task, with arguments from its
  input, and not the unrelated one; read with the beta its output has `mcp_tool_calls`,
  read without it `beta_fields["mcp-server-2025-07-17"]` (raw HTTP and SDK).
- `allowed_tools` excludes a tool; a server's `headers` reach it on every request.
- A closed port, a tool that raises and a web server that is no MCP server: warnings, an
  `error` in the call, a completed run; a tool slower than the run's time for tools is given
  up on, and the run completes within its time limit.
- Without `--allow-private-fetch` a loopback MCP server is refused: a warning, and nothing
  reaches it. Without the beta header `mcp_servers` is not used (a warning says so).
- An unknown `parallel-beta` value is a 422 on create, on result, and on other routes
  that accept the header.
- With an LLM, the model's chosen call (its arguments) is the call made.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import parallel
import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from fake_llm import FakeLLM
from support import assert_error, wait_until
from test_research import FixtureWeb, _indexed_server, json_spec

MCP_BETA = "mcp-server-2025-07-17"
RESULT_WAIT = 60
FOUNDED = "Zorblax Robotics was founded on 5 March 2011."
SCHEMA = {
    "type": "object",
    "properties": {"founded_on": {"type": "string", "description": "Date the company was founded (YYYY-MM-DD)"}},
    "required": ["founded_on"],
    "additionalProperties": False,
}
VAULT_KEY = "open-sesame-7f3a"


class ToolServer:
    """One MCP server on loopback: `build(server, calls)` registers its tools (each appends
    `(tool, arguments)` to `calls`); every HTTP request is recorded with its headers.
    `required_headers` are checked on every request (401 without them)."""

    def __init__(self, name: str, build, required_headers: dict | None = None):
        self.calls: list = []
        self.requests: list = []  # (method, headers) in arrival order
        self.lock = threading.Lock()
        mcp = MCPServer(name)
        build(mcp, self.calls)
        app = mcp.streamable_http_app(stateless_http=False)
        required = {k.lower(): v for k, v in (required_headers or {}).items()}
        me = self

        async def recorded(scope, receive, send):
            if scope["type"] == "http":
                headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
                with me.lock:
                    me.requests.append((scope["method"], headers))
                if any(headers.get(k) != v for k, v in required.items()):
                    await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
                    await send({"type": "http.response.body", "body": b"missing key"})
                    return
            await app(scope, receive, send)

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.server = uvicorn.Server(uvicorn.Config(recorded, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, 10, what=f"MCP server {name} started")

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)


def _facts(mcp, calls):
    @mcp.tool(description="The date a company was founded.")
    def founding_date(company: str) -> str:
        calls.append(("founding_date", {"company": company}))
        return FOUNDED if "zorblax" in company.lower() else f"No founding date is known for {company}."

    @mcp.tool(description="Current weather conditions in a city.")
    def current_weather(city: str) -> str:
        calls.append(("current_weather", {"city": city}))
        return f"It is sunny in {city}."


def _broken(mcp, calls):
    @mcp.tool(description="The date a company was founded.")
    def founding_date(company: str) -> str:
        calls.append(("founding_date", {"company": company}))
        raise ToolError("the founding-date database is offline")


def _slow(mcp, calls):
    @mcp.tool(description="The date a company was founded.")
    async def founding_date(company: str) -> str:
        calls.append(("founding_date", {"company": company}))
        await asyncio.sleep(40)
        return FOUNDED


def _vault(mcp, calls):
    @mcp.tool(description="Archive notes on when a company was founded.")
    def founding_notes(company: str) -> str:
        calls.append(("founding_notes", {"company": company}))
        return f"Archive: {FOUNDED}"


@pytest.fixture(scope="module")
def web():
    w = FixtureWeb()
    yield w
    w.close()


@pytest.fixture(scope="module")
def facts():
    s = ToolServer("facts", _facts)
    yield s
    s.close()


@pytest.fixture(scope="module")
def broken():
    s = ToolServer("broken", _broken)
    yield s
    s.close()


@pytest.fixture(scope="module")
def slow():
    s = ToolServer("slow", _slow)
    yield s
    s.close()


@pytest.fixture(scope="module")
def vault():
    s = ToolServer("vault", _vault, required_headers={"x-vault-key": VAULT_KEY})
    yield s
    s.close()


@pytest.fixture(scope="module")
def research(server_factory, parallax_bin, web):
    srv = _indexed_server(server_factory, parallax_bin, web)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def fake_llm():
    llm = FakeLLM()
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def llm_server(server_factory, parallax_bin, web, fake_llm):
    srv = _indexed_server(
        server_factory,
        parallax_bin,
        web,
        extra_args=fake_llm.server_args(1),
    )
    yield srv
    srv.stop()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _run(client: parallel.Parallel, servers: list, betas=(MCP_BETA,), input=None, processor="lite", **kwargs):
    """Creates a run with `servers` and waits for it to end; returns (run id, result read
    with the MCP beta)."""
    extra = {"betas": list(betas)} if betas else {}
    run = client.task_run.create(
        input=input or {"company": "Zorblax Robotics"},
        processor=processor,
        task_spec=json_spec(SCHEMA),
        mcp_servers=servers,
        **extra,
        **kwargs,
    )
    try:
        res = client.task_run.result(run.run_id, api_timeout=RESULT_WAIT, betas=[MCP_BETA])
    except parallel.APIStatusError as exc:
        final = client.task_run.retrieve(run.run_id)
        pytest.fail(f"run {run.run_id} did not complete: {final.status} {final.error} ({exc})")
    assert res.run.status == "completed"
    return run.run_id, res


def _warnings(res) -> str:
    return " | ".join(w.message for w in (res.run.warnings or []))


def test_the_matching_tool_is_called_and_shown_per_the_beta_header(research, facts):
    client = research.client()
    before = list(facts.calls)
    servers = [{"type": "url", "name": "facts", "url": facts.url}]
    run_id, res = _run(client, servers)
    calls = res.output.mcp_tool_calls
    assert calls is not None and len(calls) == 1, res.output
    call = calls[0]
    assert (call.server_name, call.tool_name) == ("facts", "founding_date")
    assert json.loads(call.arguments) == {"company": "Zorblax Robotics"}
    assert call.content == FOUNDED and call.error is None
    assert call.tool_call_id
    # Read with the beta, the calls are not also in beta_fields.
    assert res.output.beta_fields is None
    # The MCP server saw exactly that call; the unrelated tool was never called.
    assert facts.calls[len(before):] == [("founding_date", {"company": "Zorblax Robotics"})]
    # The tool's answer is a source the run read: the date it states is the answer.
    assert res.output.content["founded_on"] == "2011-03-05", res.output.content
    cited = {c.url: c for b in res.output.basis for c in b.citations}
    assert cited["mcp://facts/founding_date"].excerpts == [FOUNDED], cited

    # The same result without the beta: the calls are beta_fields, keyed by the beta.
    raw = research.http().get(f"/v1/tasks/runs/{run_id}/result")
    assert raw.status_code == 200, raw.text
    output = raw.json()["output"]
    assert "mcp_tool_calls" not in output
    dumped = output["beta_fields"][MCP_BETA]
    assert dumped == [json.loads(call.model_dump_json())], dumped
    plain = client.task_run.result(run_id)
    assert plain.output.beta_fields == {MCP_BETA: dumped}
    assert plain.output.mcp_tool_calls is None
    # The input endpoint returns what was sent: the servers, no beta.
    sent = research.http().get(f"/v1/tasks/runs/{run_id}/input").json()
    assert sent["mcp_servers"] == servers and "betas" not in json.dumps(sent)


def test_allowed_tools_excludes_a_tool(research, facts):
    before, reached = len(facts.calls), facts.count()
    servers = [{"name": "facts", "url": facts.url, "allowed_tools": ["current_weather"]}]
    _, res = _run(research.client(), servers)
    assert res.output.mcp_tool_calls == []
    assert facts.calls[before:] == []
    # The server was reached (its tools listed): the tool was left out by allowed_tools.
    assert facts.count() > reached


def test_headers_reach_the_server(research, vault):
    before, first = len(vault.calls), vault.count()
    servers = [{"name": "vault", "url": vault.url, "headers": {"x-vault-key": VAULT_KEY}}]
    _, res = _run(research.client(), servers)
    [call] = res.output.mcp_tool_calls
    assert call.tool_name == "founding_notes" and call.content == f"Archive: {FOUNDED}"
    assert vault.calls[before:] == [("founding_notes", {"company": "Zorblax Robotics"})]
    with vault.lock:
        seen = vault.requests[first:]
    assert seen and all(h.get("x-vault-key") == VAULT_KEY for _, h in seen), seen

    # Without the header the server refuses: a warning, no call, a completed run.
    before = len(vault.calls)
    _, res = _run(research.client(), [{"name": "vault", "url": vault.url}])
    assert res.output.mcp_tool_calls == []
    assert vault.calls[before:] == []
    assert "vault" in _warnings(res), _warnings(res)


def test_failing_servers_are_warnings_not_failed_runs(research, broken, web):
    down = f"http://127.0.0.1:{_closed_port()}/mcp"
    servers = [
        {"name": "down", "url": down},
        {"name": "broken", "url": broken.url},
        # A web server that is no MCP server (it answers POST with 501): a protocol error.
        {"name": "notmcp", "url": web.url("zorblax.example/about.html")},
    ]
    _, res = _run(research.client(), servers)
    warnings = _warnings(res)
    for name in ['"down"', '"broken"', '"notmcp"']:
        assert name in warnings, warnings
    [call] = res.output.mcp_tool_calls
    assert (call.server_name, call.tool_name) == ("broken", "founding_date")
    assert call.content is None and "offline" in (call.error or ""), call
    # The run still answered from the web.
    assert res.output.content["founded_on"] == "2011-03-05"


def test_a_slow_tool_cannot_make_the_run_overrun(research, slow):
    # lite-fast has 30 s; its tools get a third of that, so the 40 s tool is given up on
    # after about 10 s and the run completes in time.
    started = time.monotonic()
    _, res = _run(research.client(), [{"name": "slow", "url": slow.url}], processor="lite-fast")
    elapsed = time.monotonic() - started
    [call] = res.output.mcp_tool_calls
    assert call.content is None and "did not answer within" in (call.error or ""), call
    assert '"slow"' in _warnings(res), _warnings(res)
    assert 8 < elapsed < 30, elapsed
    assert res.output.content["founded_on"] == "2011-03-05"


def test_loopback_servers_are_refused_without_allow_private_fetch(server_factory, facts):
    srv = server_factory("sqlite", scripted=False)
    try:
        reached = facts.count()
        _, res = _run(srv.client(), [{"name": "facts", "url": facts.url}])
        assert res.output.mcp_tool_calls == []
        assert "loopback" in _warnings(res), _warnings(res)
        # A host name that resolves to loopback is refused too.
        named = facts.url.replace("127.0.0.1", "localhost")
        _, res = _run(srv.client(), [{"name": "facts", "url": named}])
        assert res.output.mcp_tool_calls == []
        assert "facts" in _warnings(res), _warnings(res)
        time.sleep(0.2)
        assert facts.count() == reached, "a request reached the loopback MCP server"
    finally:
        srv.stop()


def test_without_the_beta_mcp_servers_are_not_used(research, facts):
    client = research.client()
    reached = facts.count()
    run = client.task_run.create(
        input={"company": "Zorblax Robotics"},
        processor="lite",
        task_spec=json_spec(SCHEMA),
        mcp_servers=[{"name": "facts", "url": facts.url}],
    )
    assert run.warnings and MCP_BETA in run.warnings[0].message, run.warnings
    res = client.task_run.result(run.run_id, api_timeout=RESULT_WAIT, betas=[MCP_BETA])
    assert res.run.status == "completed"
    assert res.output.mcp_tool_calls is None and res.output.beta_fields is None
    assert facts.count() == reached
    # Another beta alone does not enable it either.
    run = client.task_run.create(
        input="x", processor="lite", mcp_servers=[{"name": "facts", "url": facts.url}], betas=["field-basis-2025-11-25"]
    )
    assert run.warnings and MCP_BETA in run.warnings[0].message


def test_unknown_beta_values_are_422(research):
    client = research.client()
    with pytest.raises(parallel.UnprocessableEntityError) as err:
        client.task_run.create(input="x", processor="lite", betas=[MCP_BETA, "mcp-server-2099-01-01"])
    detail = assert_error(err.value, 422)
    assert detail["pointer"] == "/headers/parallel-beta" and "mcp-server-2099-01-01" in detail["reason"], detail
    run = client.task_run.create(input="x", processor="lite", betas=[MCP_BETA, " field-basis-2025-11-25"])
    with pytest.raises(parallel.UnprocessableEntityError):
        client.task_run.result(run.run_id, betas=["nope"], api_timeout=1)
    http = research.http()
    for method, path, body in [
        ("GET", f"/v1/tasks/runs/{run.run_id}/result?timeout=0", None),
        ("POST", "/v1beta/findall/runs", {}),
        ("POST", "/v1beta/extract", {"urls": ["https://example.com"]}),
        ("POST", "/v1beta/memory/retrieve", {}),
        ("POST", "/v1/tasks/groups/tgrp_0123456789abcdef0123456789abcdef/runs", {"inputs": []}),
    ]:
        r = http.request(method, path, json=body, headers={"parallel-beta": "findall-2025-09-15,bogus"})
        detail = assert_error(r, 422)
        assert detail["pointer"] == "/headers/parallel-beta" and "bogus" in detail["reason"], (path, detail)
    # Known values pass on those routes (the result of a finished run is read as usual).
    r = http.get(f"/v1/tasks/runs/{run.run_id}/result", params={"timeout": 30}, headers={"parallel-beta": MCP_BETA})
    assert r.status_code == 200, r.text


def test_with_an_llm_the_model_chooses_the_call(llm_server, facts, fake_llm):
    chosen = {"company": "Zorblax Robotics GmbH"}
    asked: list = []

    def script(n, body, sources):
        system = body["messages"][0]["content"]
        if "which tools to call" in system:
            asked.append(body["messages"][1]["content"])
            return FakeLLM.completion(json.dumps({"calls": [{"server": "facts", "tool": "founding_date", "arguments": chosen}]}))
        return 400, {}, {"error": {"message": "test: no synthesis scripted"}}, 0

    fake_llm.scripts["mcpchoice"] = script
    before = len(facts.calls)
    _, res = _run(
        llm_server.client(),
        [{"name": "facts", "url": facts.url}],
        input={"company": "Zorblax Robotics", "request": "llmcase-mcpchoice"},
    )
    assert len(asked) == 1 and "founding_date" in asked[0] and "current_weather" in asked[0], asked
    [call] = res.output.mcp_tool_calls
    assert json.loads(call.arguments) == chosen
    assert facts.calls[before:] == [("founding_date", chosen)]
