"""A scripted OpenAI-compatible chat-completions server for the suite: the only fake in it,
since no LLM runs here. Each test scripts its own case (named in the run's input as
`llmcase-<name>`), so runs never confuse each other's script; every request is recorded with
what was wrong with it, if anything."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SOURCE_LINE = re.compile(r"^\[(\d+)\] .*\((http://[^\s()]+)\)\s*$", re.M)
CASE_RE = re.compile(r"llmcase-([a-z]+)")


class FakeLLM:
    """An OpenAI-compatible chat-completions endpoint scripted per test case. The case is
    named in the run's input (`llmcase-<name>`), so runs never confuse each other's script.
    Every request is recorded with what was wrong with it, if anything."""

    API_KEY = "sk-fake-llm-key"
    MODEL = "fake-model-7b"

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: dict = {}  # case -> [request body, ...]
        self.problems: list = []
        self.shown: dict = {}  # (case, url) -> the text shown to the model under that source
        self.scripts: dict = {}  # case -> callable(n, body, sources) -> (status, headers, body | None, delay)
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                status, headers, payload, delay = llm.handle(self.path, dict(self.headers), raw)
                if delay:
                    time.sleep(delay)
                if status == 200 and llm.wants_stream(raw) and payload and payload.get("choices"):
                    self.stream(payload, llm.stream_pause)
                    return
                data = json.dumps(payload).encode() if payload is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout case)

            def stream(self, payload: dict, pause: float):
                """The completion as OpenAI streams it: the content in four deltas, `pause`
                seconds apart, then the usage and `data: [DONE]`."""
                content = payload["choices"][0]["message"]["content"]
                quarter = max(1, len(content) // 4)
                pieces = [content[i:i + quarter] for i in range(0, len(content), quarter)]
                try:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("connection", "close")
                    self.end_headers()
                    for i, piece in enumerate(pieces):
                        if i:
                            time.sleep(pause)
                        chunk = {"id": payload["id"], "object": "chat.completion.chunk", "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                        self.wfile.flush()
                    usage = {"id": payload["id"], "object": "chat.completion.chunk", "choices": [], "usage": payload["usage"]}
                    self.wfile.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
                    self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    # Seconds between the deltas of a streamed answer (requests with `stream: true`).
    stream_pause = 0.0

    def server_args(self, timeout_seconds: float) -> list:
        """The `parallax serve` flags that point a server at this LLM, waiting at most
        `timeout_seconds` for one answer."""
        return [
            "--llm-base-url", self.base_url,
            "--llm-model", self.MODEL,
            "--llm-api-key", self.API_KEY,
            "--llm-timeout-seconds", str(timeout_seconds),
        ]

    @staticmethod
    def wants_stream(raw: bytes) -> bool:
        try:
            return json.loads(raw).get("stream") is True
        except (ValueError, AttributeError):
            return False

    def handle(self, path: str, headers: dict, raw: bytes):
        try:
            body = json.loads(raw)
        except ValueError:
            self.problems.append(f"body is not JSON: {raw[:200]!r}")
            return 400, {}, {"error": {"message": "bad json"}}, 0
        lower = {k.lower(): v for k, v in headers.items()}
        if path != "/v1/chat/completions":
            self.problems.append(f"request to {path}")
        if lower.get("authorization") != f"Bearer {self.API_KEY}":
            self.problems.append(f"authorization header {lower.get('authorization')!r}")
        if body.get("model") != self.MODEL:
            self.problems.append(f"model {body.get('model')!r}")
        text = "\n".join(m.get("content", "") for m in body.get("messages", []))
        m = CASE_RE.search(text)
        case = m.group(1) if m else "?"
        with self.lock:
            seen = self.requests.setdefault(case, [])
            seen.append(body)
            n = len(seen)
        script = self.scripts.get(case)
        if script is None:
            self.problems.append(f"request for unscripted case {case!r}")
            return 500, {}, {"error": {"message": "unscripted"}}, 0
        first_user = next((m["content"] for m in body["messages"] if m.get("role") == "user"), "")
        sources = {}
        headers = list(SOURCE_LINE.finditer(first_user))
        for i, h in enumerate(headers):
            end = headers[i + 1].start() if i + 1 < len(headers) else len(first_user)
            number = int(h.group(1))
            sources[number] = h.group(2)
            self.shown[(case, h.group(2))] = first_user[h.end():end]
        return script(n, body, sources)

    @staticmethod
    def completion(content: str):
        return (
            200,
            {},
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": FakeLLM.MODEL,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            },
            0,
        )

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
