"""Schemathesis hooks for the Parallax suite (loaded with SCHEMATHESIS_HOOKS=hooks).

Event streams. The Parallel spec (OpenAPI 3.1) documents a `text/event-stream` answer by the
schema of one event's *payload* (`TaskRunEvent`, `TaskGroupStatusEvent`, ...). Schemathesis
4 reads a 3.1 stream schema as describing each parsed SSE frame (`{"data": "...", "event": ...}`),
so every event of every stream would fail. This deserializer hands it the payloads instead,
decoded exactly as the official `parallel-web` SDK decodes them (its own `SSEDecoder`), and
parsed as JSON as the SDK does. So a stream that would break the SDK (an empty event after a
keep-alive, data that is not JSON) fails here as a deserialization error, and each payload is
validated against the spec's event schema. A chat-completions stream ends with `data: [DONE]`,
which OpenAI's decoder (the same Stainless decoder) stops at rather than parses; so does this one.

Chat completions. Bodies generated from `ChatCompletionRequest` almost never name a model this
server has or end with a user turn, so the fuzzer would only ever see 422s. Half of them (by a
hash of the body, so runs repeat) get a real model and a user question, and lose the keys the
spec does not define; their other fields stay as generated (`stream`, `response_format`, the
ignored sampling fields), so whole answers and streams are both checked against the spec's
schemas.
"""

from __future__ import annotations

import hashlib
import json

import schemathesis
from parallel._streaming import SSEDecoder


@schemathesis.deserializer("text/event-stream")
def sse_payloads(ctx, response):
    payloads = []
    for sse in SSEDecoder().iter_bytes(iter([response.content])):
        if sse.data.startswith("[DONE]"):
            break
        try:
            payloads.append(json.loads(sse.data))
        except ValueError as exc:
            raise ValueError(
                f"event #{len(payloads)} (id={sse.id!r}, event={sse.event!r}) is not JSON, "
                f"so the official SDK would fail on it: data={sse.data[:200]!r} ({exc})"
            ) from exc
    return payloads


CHAT_MODELS = ("speed", "lite", "base", "core")
# The request fields the spec defines (others are refused with a 400, which the other half of
# the bodies still exercises).
CHAT_FIELDS = {"model", "messages", "stream", "response_format", "max_tokens", "temperature", "top_p", "n",
               "presence_penalty", "frequency_penalty"}


@schemathesis.hook
def map_body(ctx, body):
    operation = ctx.operation
    if operation is None or not operation.path.endswith("/chat/completions") or not isinstance(body, dict):
        return body
    digest = hashlib.sha256(repr(sorted(body.items(), key=lambda kv: kv[0])).encode()).digest()
    if digest[0] % 2:
        return body
    body = {k: v for k, v in body.items() if k in CHAT_FIELDS}
    body["model"] = CHAT_MODELS[digest[1] % len(CHAT_MODELS)]
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    body["messages"] = [m for m in messages if isinstance(m, dict) and m.get("role") in ("system", "assistant")][:2]
    body["messages"].append({"role": "user", "content": "When was Zorblax Robotics founded?"})
    if body.get("n") is not None:
        body["n"] = 1  # the one count served (others are refused with a 400 that says so)
    return body
