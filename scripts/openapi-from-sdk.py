#!/usr/bin/env python3
"""Writes crates/api/openapi/sdk-operations.json: OpenAPI operations for what Parallax serves
that Parallel's public spec does not describe but the official SDK (parallel-web, pinned in
tests/requirements.txt) calls: the monitors API under /v1/monitors, Memory, and FindAll's entity
search. Their request and response schemas are made from the SDK's own types (pydantic models
for responses, TypedDicts for request bodies and query parameters), so they say exactly what the
SDK sends and accepts. The server embeds the file and merges it into /openapi.json.

Run it after changing the pinned SDK:  .venv/bin/python scripts/openapi-from-sdk.py
With --check it writes nothing and exits 1 when the committed file differs from what it would
write (tests/sdk/test_openapi.py runs that).
"""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

import parallel
from parallel.types import (
    Monitor,
    PaginatedMonitorEvents,
    PaginatedMonitorResponse,
    monitor_create_params,
    monitor_events_params,
    monitor_list_params,
    monitor_update_params,
)
from parallel.types.beta import (
    FindAllEntitySearchResponse,
    MemoryRetrieveResponse,
    findall_entity_search_params,
    memory_clear_params,
    memory_evict_params,
    memory_retrieve_params,
)

OUT = Path(__file__).resolve().parents[1] / "crates" / "api" / "openapi" / "sdk-operations.json"
# Prefixed, so that an SDK type never collides with the public spec's schema of the same name
# (the two describe different operations and need not agree).
PREFIX = "Sdk"
REF = "#/components/schemas/" + PREFIX + "{model}"

RESPONSES = [Monitor, PaginatedMonitorEvents, PaginatedMonitorResponse, MemoryRetrieveResponse,
             FindAllEntitySearchResponse]


def typed_dict_schema(td, defs: dict) -> dict:
    """The JSON Schema of a TypedDict of request parameters, its definitions moved to `defs`."""
    schema = TypeAdapter(td).json_schema(ref_template=REF, mode="serialization")
    defs.update(schema.pop("$defs", {}))
    return schema


def query_parameters(td, defs: dict) -> list:
    schema = typed_dict_schema(td, defs)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def body(td, defs: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": typed_dict_schema(td, defs)}}}


def answer(model: str, status: str = "200") -> dict:
    return {status: {"description": "OK", "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}}


NO_CONTENT = {"204": {"description": "Done; no body"}}


def path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def main() -> int:
    _, top = models_json_schema([(m, "serialization") for m in RESPONSES], ref_template=REF)
    defs = dict(top.get("$defs", {}))
    mid = [path_param("monitor_id")]
    paths = {
        "/v1/monitors": {
            "post": {"operationId": "monitors_create", "requestBody": body(monitor_create_params.MonitorCreateParams, defs),
                     "responses": answer("Monitor", "201")},
            "get": {"operationId": "monitors_list", "parameters": query_parameters(monitor_list_params.MonitorListParams, defs),
                    "responses": answer("PaginatedMonitorResponse")},
        },
        "/v1/monitors/{monitor_id}": {
            "get": {"operationId": "monitors_retrieve", "parameters": mid, "responses": answer("Monitor")},
        },
        "/v1/monitors/{monitor_id}/update": {
            "post": {"operationId": "monitors_update", "parameters": mid,
                     "requestBody": body(monitor_update_params.MonitorUpdateParams, defs), "responses": answer("Monitor")},
        },
        "/v1/monitors/{monitor_id}/cancel": {
            "post": {"operationId": "monitors_cancel", "parameters": mid, "responses": answer("Monitor")},
        },
        "/v1/monitors/{monitor_id}/events": {
            "get": {"operationId": "monitors_events",
                    "parameters": mid + query_parameters(monitor_events_params.MonitorEventsParams, defs),
                    "responses": answer("PaginatedMonitorEvents")},
        },
        "/v1/monitors/{monitor_id}/trigger": {
            "post": {"operationId": "monitors_trigger", "parameters": mid, "responses": NO_CONTENT},
        },
        "/v1beta/memory/retrieve": {
            "post": {"operationId": "memory_retrieve", "requestBody": body(memory_retrieve_params.MemoryRetrieveParams, defs),
                     "responses": answer("MemoryRetrieveResponse")},
        },
        "/v1beta/memory/evict": {
            "post": {"operationId": "memory_evict", "requestBody": body(memory_evict_params.MemoryEvictParams, defs),
                     "responses": NO_CONTENT},
        },
        "/v1beta/memory/clear": {
            "post": {"operationId": "memory_clear", "requestBody": body(memory_clear_params.MemoryClearParams, defs),
                     "responses": NO_CONTENT},
        },
        "/v1beta/findall/entity-search": {
            "post": {"operationId": "findall_entity_search",
                     "requestBody": body(findall_entity_search_params.FindAllEntitySearchParams, defs),
                     "responses": answer("FindAllEntitySearchResponse")},
        },
    }
    doc = {
        "x-generated-by": f"scripts/openapi-from-sdk.py from parallel-web {parallel.__version__}",
        "paths": paths,
        "components": {"schemas": {PREFIX + name: schema for name, schema in sorted(defs.items())}},
    }
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    if "--check" in sys.argv[1:]:
        if OUT.read_text() != text:
            print(f"{OUT} is not what the pinned SDK ({parallel.__version__}) gives; run {sys.argv[0]}")
            return 1
        print(f"{OUT} matches parallel-web {parallel.__version__}")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}: {len(paths)} paths, {len(defs)} schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
