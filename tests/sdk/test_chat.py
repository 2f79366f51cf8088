"""Chat completions through the official `openai` Python client, unchanged, pointed at a real
`parallax serve` (no `--scripted-processor`) whose local index holds the loopback fixture web
(`tests/fixtures/web/`, served by test_research.FixtureWeb).

- `GET /v1beta/models` (and one model) as OpenAI's `models` API reads them.
- Whole answers from every model, researched: the content states the fact the fixture web
  states, and the top-level `basis` cites fixture pages that were really served, with
  excerpts those pages contain.
- Streams: one id and `created` across chunks, the role first, content deltas that join to
  the answer, a last chunk with `finish_reason` and the basis, the usage chunk when asked,
  then `data: [DONE]` on the wire.
- `response_format`: `json_schema` (the schema's field answered and valid) and `json_object`.
- Refusals: `tools` and other unsupported fields (400 naming them), malformed requests (422),
  a bad key (401): each an `openai` error carrying the API's error shape.
- Multi-turn: a follow-up that only makes sense with the earlier turn is answered from it.
- With the scripted LLM (the only fake: no LLM runs here): the model writes the answer from
  the passages read; a stream carries the model's text as it writes it (its deltas arrive
  1.5 s apart, not all at the end); a stream whose research stays quiet for 22 s is held open by
  keep-alives the client ignores; a research over its time limit ends a stream with an error
  event that the client raises, and a whole answer with a 504.

SQLite only: the storage backend plays no part in chat.
"""

from __future__ import annotations

import json
import re
import time

import httpx
import openai
import pytest

from fake_llm import FakeLLM
from test_research import FixtureWeb, _indexed_server, excerpt_in_page

FOUNDED_Q = "When was Zorblax Robotics founded?"
FOUNDED_SCHEMA = {
    "type": "object",
    "properties": {"founded_on": {"type": "string", "description": "Date the company was founded (YYYY-MM-DD)"}},
    "required": ["founded_on"],
    "additionalProperties": False,
}
MODELS = ["speed", "lite", "base", "core"]


@pytest.fixture(scope="module")
def web():
    w = FixtureWeb()
    yield w
    w.close()


@pytest.fixture(scope="module")
def research(server_factory, parallax_bin, web):
    """A real-pipeline server (extractive: no LLM) whose local index holds the fixture web."""
    srv = _indexed_server(server_factory, parallax_bin, web)
    yield srv
    srv.stop()


def oai(srv, key=None, **kwargs) -> openai.OpenAI:
    """The official openai client: the Parallax key as its Bearer token, no retries."""
    return openai.OpenAI(
        base_url=f"{srv.base_url}/v1beta",
        api_key=key if key is not None else srv.key,
        max_retries=0,
        http_client=httpx.Client(trust_env=False, timeout=httpx.Timeout(120.0, connect=5.0)),
        **kwargs,
    )


@pytest.fixture
def client(research):
    c = oai(research)
    yield c
    c.close()
    assert research.alive(), f"parallax died: {research.log_tail()}"


def basis_of(obj) -> list:
    extra = obj.model_extra or {}
    assert "basis" in extra, obj
    return extra["basis"]


def check_basis(web, basis: list) -> list:
    """Every citation is a fixture page the server really fetched or indexed, and every
    excerpt is text of that page. Returns the cited fixture paths."""
    served = web.served()
    cited = []
    assert basis, "an answer without basis"
    for entry in basis:
        assert entry["confidence"] in {"low", "medium", "high"}, entry
        assert isinstance(entry["reasoning"], str) and entry["reasoning"], entry
        for citation in entry.get("citations") or []:
            rel = web.rel(citation["url"])
            assert rel is not None and rel in served, citation["url"]
            for excerpt in citation.get("excerpts") or []:
                assert excerpt_in_page(excerpt, rel), (rel, excerpt)
            cited.append(rel)
    return cited


# --------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------


def test_models_are_listed_and_retrieved(client):
    models = client.models.list()
    assert [m.id for m in models.data] == MODELS
    assert all(m.object == "model" and m.owned_by == "parallax" and m.created > 0 for m in models.data)
    assert client.models.retrieve("core").id == "core"
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("gpt-4o")
    assert "speed, lite, base, core" in e.value.body["message"]


# --------------------------------------------------------------------------------------
# whole answers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_every_model_answers_with_the_stated_fact_and_real_citations(web, client, model):
    completion = client.chat.completions.create(model=model, messages=[{"role": "user", "content": FOUNDED_Q}])
    assert completion.object == "chat.completion"
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", completion.id), completion.id
    assert completion.model == model
    choice = completion.choices[0]
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert "2011" in choice.message.content, choice.message.content
    cited = check_basis(web, basis_of(completion))
    assert any(rel.startswith(("zorblax.example/", "wiki.example/")) for rel in cited), cited
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_the_spec_spelling_of_the_path_and_v1_answer_too(research):
    http = research.http(auth=False, headers={"authorization": f"Bearer {research.key}"})
    for path in ("/v1beta/chat/completions", "/v1/chat/completions"):
        r = http.post(path, json={"model": "speed", "messages": [{"role": "user", "content": FOUNDED_Q}]})
        assert r.status_code == 200, r.text
        body = r.json()
        # The spec's Choice requires `delta`; OpenAI's clients read `message`: both are there.
        assert body["choices"][0]["delta"]["content"] == body["choices"][0]["message"]["content"]
    assert http.get("/v1/models").json()["data"][0]["id"] == "speed"


def test_json_schema_answers_match_the_schema(web, client):
    completion = client.chat.completions.create(
        model="lite",
        messages=[{"role": "user", "content": FOUNDED_Q}],
        response_format={"type": "json_schema", "json_schema": {"name": "founding", "schema": FOUNDED_SCHEMA, "strict": True}},
    )
    content = json.loads(completion.choices[0].message.content)
    assert content == {"founded_on": "2011-03-05"}, content
    basis = basis_of(completion)
    assert [b["field"] for b in basis] == ["founded_on"], basis
    check_basis(web, basis)


def test_json_object_answers_are_json_objects(client):
    completion = client.chat.completions.create(
        model="speed",
        messages=[{"role": "user", "content": FOUNDED_Q}],
        response_format={"type": "json_object"},
    )
    content = json.loads(completion.choices[0].message.content)
    assert isinstance(content, dict) and "2011" in json.dumps(content), content


def test_a_follow_up_is_answered_from_the_earlier_turn(web, client):
    completion = client.chat.completions.create(
        model="lite",
        messages=[
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": "Tell me about Zorblax Robotics."},
            {"role": "assistant", "content": "Zorblax Robotics makes industrial robot arms."},
            {"role": "user", "content": "When was it founded?"},
        ],
    )
    assert "2011" in completion.choices[0].message.content, completion.choices[0].message.content
    cited = check_basis(web, basis_of(completion))
    assert any("zorblax" in rel for rel in cited), cited


# --------------------------------------------------------------------------------------
# streams
# --------------------------------------------------------------------------------------


def test_a_stream_sends_role_deltas_finish_basis_and_usage(web, client):
    whole = client.chat.completions.create(model="base", messages=[{"role": "user", "content": FOUNDED_Q}])
    chunks = list(
        client.chat.completions.create(
            model="base",
            messages=[{"role": "user", "content": FOUNDED_Q}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert chunks[0].id.startswith("chatcmpl-") and all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    with_choices = [c for c in chunks if c.choices]
    text = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert text == whole.choices[0].message.content, "the deltas join to the same answer"
    assert len(with_choices) >= 3, "content comes in deltas"
    last = with_choices[-1]
    assert last.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    check_basis(web, basis_of(last))
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage.total_tokens > 0


def test_the_wire_ends_with_done_and_no_usage_unless_asked(research):
    http = research.http(auth=False, headers={"authorization": f"Bearer {research.key}"})
    with http.stream(
        "POST", "/v1beta/chat/completions", json={"model": "speed", "stream": True, "messages": [{"role": "user", "content": FOUNDED_Q}]}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    frames = [f for f in raw.split("\n\n") if f.strip()]
    assert frames[-1] == "data: [DONE]"
    datas = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert all("usage" not in d or d["usage"] is None for d in datas)
    assert all(d["type"] == "chat.completion.chunk" for d in datas), "the spec's chunk carries type"


# --------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------


def test_tools_and_other_unsupported_fields_are_refused_with_a_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="lite",
            messages=[{"role": "user", "content": FOUNDED_Q}],
            tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        )
    assert e.value.status_code == 400
    assert e.value.body["detail"]["pointer"] == "/tools" and "tools" in e.value.body["message"]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="lite", messages=[{"role": "user", "content": FOUNDED_Q}], seed=3, logprobs=True)
    assert {x["pointer"] for x in e.value.body["detail"]["errors"]} == {"/seed", "/logprobs"}
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="lite", messages=[{"role": "user", "content": FOUNDED_Q}], n=2)
    # The spec's ignored sampling fields are accepted.
    ok = client.chat.completions.create(model="speed", messages=[{"role": "user", "content": FOUNDED_Q}], temperature=0.3, max_tokens=50, n=1)
    assert ok.choices[0].message.content


def test_malformed_requests_get_a_422_in_the_error_shape(client):
    cases = [
        (dict(model="gpt-4o", messages=[{"role": "user", "content": "q"}]), "/model"),
        (dict(model="lite", messages=[]), "/messages"),
        (dict(model="lite", messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]), "/messages/1"),
        (dict(model="lite", messages=[{"role": "user", "content": "q"}], response_format={"type": "json_schema", "json_schema": {"name": "x"}}), "/response_format/json_schema/schema"),
    ]
    for kwargs, pointer in cases:
        with pytest.raises(openai.UnprocessableEntityError) as e:
            client.chat.completions.create(**kwargs)
        body = e.value.body
        assert set(body) == {"ref_id", "message", "detail"}, body
        assert body["detail"]["pointer"] == pointer, (kwargs, body)


def test_a_bad_key_is_a_401(research):
    bad = oai(research, key="not-a-key")
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="speed", messages=[{"role": "user", "content": FOUNDED_Q}])
    bad.close()


# --------------------------------------------------------------------------------------
# with an LLM
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_llm():
    llm = FakeLLM()
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def llm_server(server_factory, parallax_bin, web, fake_llm):
    """A real-pipeline server with the scripted LLM, which may take up to 30 s per answer."""
    srv = _indexed_server(
        server_factory,
        parallax_bin,
        web,
        extra_args=fake_llm.server_args(60),
    )
    yield srv
    srv.stop()


def _written(delay: float):
    """A script: after `delay` seconds, an answer citing the first source shown."""

    def script(n, body, sources):
        first = min(sources) if sources else 1
        status, headers, payload, _ = FakeLLM.completion(f"Zorblax Robotics was founded on 5 March 2011 [{first}].")
        return status, headers, payload, delay

    return script


def test_with_an_llm_the_model_writes_the_answer_from_the_passages(web, llm_server, fake_llm):
    fake_llm.scripts["written"] = _written(0)
    c = oai(llm_server)
    completion = c.chat.completions.create(
        model="lite",
        messages=[
            {"role": "system", "content": "Be exact."},
            {"role": "user", "content": "llmcase-written " + FOUNDED_Q},
        ],
    )
    assert completion.choices[0].message.content.startswith("Zorblax Robotics was founded on 5 March 2011 [")
    sent = fake_llm.requests["written"][-1]
    prompt = "\n".join(m["content"] for m in sent["messages"])
    assert "Be exact." in prompt, "the system turn reaches the writer"
    assert sent.get("stream") is False, "a whole answer is asked for whole"
    assert not fake_llm.problems, fake_llm.problems
    cited = check_basis(web, basis_of(completion))
    assert cited, "the writer's [n] became a citation"
    c.close()


def test_with_an_llm_a_stream_carries_the_text_as_the_model_writes_it(web, llm_server, fake_llm):
    fake_llm.scripts["tokens"] = _written(0)
    fake_llm.stream_pause = 1.5
    try:
        c = oai(llm_server)
        started = time.monotonic()
        arrivals = []
        last = None
        for chunk in c.chat.completions.create(
            model="speed", stream=True, messages=[{"role": "user", "content": "llmcase-tokens " + FOUNDED_Q}]
        ):
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append((time.monotonic() - started, chunk.choices[0].delta.content))
            if chunk.choices and chunk.choices[0].finish_reason:
                last = chunk
        c.close()
    finally:
        fake_llm.stream_pause = 0.0
    assert fake_llm.requests["tokens"][-1].get("stream") is True, "the writer was asked to stream"
    text = "".join(piece for _, piece in arrivals)
    assert text.startswith("Zorblax Robotics was founded on 5 March 2011 ["), text
    # The model's four pieces arrive 1.5 s apart: the first long before the last.
    assert len(arrivals) >= 4, arrivals
    assert arrivals[-1][0] - arrivals[0][0] >= 3.5, arrivals
    check_basis(web, basis_of(last))


def test_a_stream_quiet_for_22_seconds_is_kept_alive_and_completes(llm_server, fake_llm):
    fake_llm.scripts["quiet"] = _written(22)
    http = llm_server.http(
        auth=False,
        headers={"authorization": f"Bearer {llm_server.key}"},
        timeout=httpx.Timeout(120.0, connect=5.0),
    )
    started = time.monotonic()
    arrivals = []
    body = b""
    with http.stream(
        "POST",
        "/v1beta/chat/completions",
        json={"model": "speed", "stream": True, "messages": [{"role": "user", "content": "llmcase-quiet " + FOUNDED_Q}]},
    ) as r:
        assert r.status_code == 200
        for piece in r.iter_raw():
            arrivals.append((time.monotonic() - started, piece))
            body += piece
    elapsed = time.monotonic() - started
    assert elapsed >= 22, elapsed
    assert b": keep-alive\n" in body, "keep-alives during the quiet research"
    assert arrivals[0][0] < 5, "the first chunk (the role) goes out at once"
    assert b"data: [DONE]\n\n" in body
    # The same stream through the openai client, which ignores the keep-alives.
    fake_llm.scripts["quiet"] = _written(22)
    c = oai(llm_server)
    chunks = list(
        c.chat.completions.create(model="speed", stream=True, messages=[{"role": "user", "content": "llmcase-quiet " + FOUNDED_Q}])
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text.startswith("Zorblax Robotics was founded on 5 March 2011"), text
    c.close()


def test_a_research_over_its_time_limit_ends_the_stream_with_an_error(server_factory, parallax_bin, web, fake_llm):
    fake_llm.scripts["late"] = _written(8)
    srv = _indexed_server(
        server_factory,
        parallax_bin,
        web,
        extra_args=[
            *fake_llm.server_args(60),
            "--max-run-seconds", "2",
        ],
    )
    c = oai(srv)
    messages = [{"role": "user", "content": "llmcase-late " + FOUNDED_Q}]
    stream = c.chat.completions.create(model="speed", stream=True, messages=messages)
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    with pytest.raises(openai.APIError) as e:
        list(stream)
    assert "time limit" in e.value.message, e.value.message
    assert {"ref_id", "message"} <= set(e.value.body), e.value.body
    with pytest.raises(openai.APIStatusError) as e:
        c.chat.completions.create(model="speed", messages=messages)
    assert e.value.status_code == 504
    c.close()
    assert srv.alive()
    srv.stop()
