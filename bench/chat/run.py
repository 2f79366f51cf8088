#!/usr/bin/env python3
"""Chat completions: time to first token per model, on the local corpus, against the Task API.

    python3 bench/chat/run.py                      # release build, every model, 3 rounds
    python3 bench/chat/run.py --skip-build --rounds 5 --models speed,lite

A release `parallax serve` (extractive: no LLM) whose local index holds the document root that
bench/eval/run.py serves (tests/fixtures/web, then bench/eval/web, on loopback) answers the dev
questions of bench/eval/questions.json (their inputs, asked as plain questions) through
`POST /v1beta/chat/completions` with `stream: true`. For each model it reports medians over
every question and round of:

- first chunk: the `assistant` role chunk, which the server sends before researching;
- first token: the first chunk carrying content (the answer's first delta);
- whole answer: `data: [DONE]`.

The baseline, measured in the same run on the same server and questions, is a `lite` task run
through the Task API (`POST /v1/tasks/runs`, then `GET …/result`, the way a client of that API
waits for an answer); the ratios are each model's median first token over it. The first round
of each model warms the page and extraction caches, as any server's first minutes do; it is
counted like the others.
"""

import argparse
import http.client
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
_spec = importlib.util.spec_from_file_location("eval_run", os.path.join(REPO, "bench", "eval", "run.py"))
ev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ev)

API_KEY = "bench-chat-key"
MODELS = ["speed", "lite", "base", "core"]


def question_text(q):
    value = q["input"]
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    return str(value)


def stream_times(host, port, model, question, timeout=300):
    """One streamed completion: seconds to the first chunk, the first content and [DONE]."""
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": question}]})
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.monotonic()
    first_chunk = first_token = done = None
    content = []
    try:
        conn.request("POST", "/v1beta/chat/completions", body=body.encode(),
                     headers={"authorization": f"Bearer {API_KEY}", "content-type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"{model}: HTTP {resp.status}: {resp.read()[:300]!r}")
        while True:
            line = resp.readline()
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            data = line[6:]
            now = time.monotonic() - started
            if data == "[DONE]":
                done = now
                break
            chunk = json.loads(data)
            if "error" in chunk:
                raise RuntimeError(f"{model}: stream error {chunk['error']}")
            if first_chunk is None:
                first_chunk = now
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    content.append(piece)
                    if first_token is None:
                        first_token = now
    finally:
        conn.close()
    return first_chunk, first_token, done, "".join(content)


def task_run_seconds(api, question):
    """A lite task run, created and awaited through the Task API: seconds to its result."""
    started = time.monotonic()
    status, run = api.request("POST", "/v1/tasks/runs", {"processor": "lite", "input": question})
    if status not in (200, 201, 202):
        raise RuntimeError(f"task run create: HTTP {status}: {run}")
    status, result = api.request("GET", f"/v1/tasks/runs/{run['run_id']}/result?timeout=300", timeout=320)
    if status != 200:
        raise RuntimeError(f"task run result: HTTP {status}: {result}")
    return time.monotonic() - started


def median_ms(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) * 1000.0 if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=ev.DEFAULT_BINARY)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--max-questions", type=int, default=20)
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    if not args.skip_build:
        ev.build()
    questions = json.load(open(ev.QUESTIONS))
    placed = ev.split_questions(questions)[0]
    dev = [q for q in questions if placed.get(q.get("id"), ("",))[0] == "dev"][: args.max_questions]
    texts = [question_text(q) for q in dev]
    data_dir = tempfile.mkdtemp(prefix="parallax-bench-chat-")
    web, port, _ = ev.start_fixture_server()
    indexed = ev.index_add(args.binary, data_dir, "http://127.0.0.1:%d/sitemap.xml" % port)
    server = ev.ParallaxServer(args.binary, data_dir, API_KEY)
    api = ev.Api(server.host, server.port, API_KEY)
    try:
        meta = ev.machine()
        print(f"machine: {meta['cpu']}, {meta['nproc']} cores; commit {ev.commit()}")
        print(f"corpus: {indexed['indexed']} pages in the local index; {len(texts)} dev questions x {args.rounds} rounds")
        baseline = []
        rows = {m: {"chunk": [], "token": [], "done": [], "empty": 0} for m in models}
        for _ in range(args.rounds):
            for text in texts:
                baseline.append(task_run_seconds(api, text))
                for model in models:
                    chunk, token, done, content = stream_times(server.host, server.port, model, text)
                    row = rows[model]
                    row["chunk"].append(chunk)
                    row["token"].append(token)
                    row["done"].append(done)
                    row["empty"] += 0 if content.strip() else 1
        base_ms = median_ms(baseline)
        print(f"baseline: lite task run, create to result: median {base_ms:.0f} ms")
        print(f"{'model':<7} {'first chunk':>12} {'first token':>12} {'whole':>10} {'token/baseline':>15} {'empty':>6}")
        for model in models:
            row = rows[model]
            token_ms = median_ms(row["token"])
            print(f"{model:<7} {median_ms(row['chunk']):>9.1f} ms {token_ms:>9.0f} ms {median_ms(row['done']):>7.0f} ms"
                  f" {token_ms / base_ms:>14.2f}x {row['empty']:>6}")
        if server.panics():
            print(f"server panicked: {server.first_panic()}")
            return 1
    finally:
        server.stop()
        web.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
