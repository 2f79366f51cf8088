"""Schemathesis hooks for the Parallax suite (loaded with SCHEMATHESIS_HOOKS=hooks).

Event streams. The Parallel spec (OpenAPI 3.1) documents a `text/event-stream` answer by the
schema of one event's *payload* (`TaskRunEvent`, `TaskGroupStatusEvent`, ...). Schemathesis
4 reads a 3.1 stream schema as describing each parsed SSE frame (`{"data": "...", "event": ...}`),
so every event of every stream would fail. This deserializer hands it the payloads instead,
decoded exactly as the official `parallel-web` SDK decodes them (its own `SSEDecoder`), and
parsed as JSON as the SDK does. So a stream that would break the SDK (an empty event after a
keep-alive, data that is not JSON) fails here as a deserialization error, and each payload is
validated against the spec's event schema.
"""

from __future__ import annotations

import json

import schemathesis
from parallel._streaming import SSEDecoder


@schemathesis.deserializer("text/event-stream")
def sse_payloads(ctx, response):
    payloads = []
    for sse in SSEDecoder().iter_bytes(iter([response.content])):
        try:
            payloads.append(json.loads(sse.data))
        except ValueError as exc:
            raise ValueError(
                f"event #{len(payloads)} (id={sse.id!r}, event={sse.event!r}) is not JSON, "
                f"so the official SDK would fail on it: data={sse.data[:200]!r} ({exc})"
            ) from exc
    return payloads
