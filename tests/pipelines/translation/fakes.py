"""Scripted translation backends and local HTTP stubs of Google's translator and a chat API."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from python_tutor.pipelines.translation.backends import TranslationFailure


class FakeBackend:
    """Upper-cases each segment (placeholders included, so they survive), counting calls.

    ``fail_after`` batches, it raises ``crash`` (an interrupt) or a TranslationFailure kind.
    """

    cacheable = True
    max_chars = 1000

    def __init__(
        self,
        cache_id: str = "fake:en-es",
        fail_after: int | None = None,
        crash: type[BaseException] = KeyboardInterrupt,
    ) -> None:
        self.cache_id = cache_id
        self.fail_after = fail_after
        self.crash = crash
        self.batches: list[list[str]] = []
        self._lock = threading.Lock()

    @property
    def segments_sent(self) -> list[str]:
        return [s for batch in self.batches for s in batch]

    def translate_batch(self, segments: list[str]) -> list[str]:
        with self._lock:
            if self.fail_after is not None and len(self.batches) >= self.fail_after:
                raise self.crash("stop")
            self.batches.append(list(segments))
        return [s.upper() for s in segments]

    def close(self) -> None:
        pass


class FlakyBackend(FakeBackend):
    """Fails with ``kinds`` in turn before each success."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__()
        self.kinds = list(kinds)
        self.attempts = 0

    def translate_batch(self, segments: list[str]) -> list[str]:
        self.attempts += 1
        if self.kinds:
            raise TranslationFailure(self.kinds.pop(0), "scripted")
        return super().translate_batch(segments)


class GoogleStub:
    """A local stand-in for translate.google.com/m: scripted status, body and delay.

    Each request pops the next script entry (the last one repeats); ``ok`` answers the
    query's lines prefixed with ``es:`` inside the element deep-translator reads. ``params``
    keeps every request's query parameters (DeepL-style services send ``text`` and a key).
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, str | None, float]] = [(200, None, 0.0)]
        self.queries: list[str] = []
        self.params: list[dict[str, list[str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                params = parse_qs(urlparse(self.path).query)
                stub.params.append(params)
                query = (params.get("q") or params.get("text"))[0]
                stub.queries.append(query)
                status, body, delay = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                time.sleep(delay)
                if body is None:
                    lines = "\n".join(f"es:{line}" for line in query.split("\n"))
                    body = f'<html><div class="result-container">{lines}</div></html>'
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/m"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ChatStub:
    """A local OpenAI-compatible chat-completions server: scripted status, body and delay.

    Each request pops the next script entry (the last one repeats). A ``None`` body answers a
    real chat completion: ``es:`` + the user message, or, with ``upstream`` set, whatever that
    server answers (a fault injector in front of a real model server). ``requests`` keeps
    each request's JSON body and Authorization header.
    """

    def __init__(self, upstream: str | None = None) -> None:
        self.script: list[tuple[int, str | None, float]] = [(200, None, 0.0)]
        self.requests: list[tuple[dict, str | None]] = []
        self.upstream = upstream
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((body, self.headers.get("Authorization")))
                script = stub.script
                status, answer, delay = script.pop(0) if len(script) > 1 else script[0]
                time.sleep(delay)
                if answer is None:
                    status, answer = stub.answer(self.path, body)
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def answer(self, path: str, body: dict) -> tuple[int, str]:
        """The upstream's answer, else ``es:`` + the user message as a chat completion."""
        if self.upstream:
            request = urllib.request.Request(
                self.upstream + path.removeprefix("/v1"),
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.read().decode()
        return 200, chat_completion("es:" + body["messages"][-1]["content"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def chat_completion(content: str | None, finish_reason: str = "stop") -> str:
    """A chat-completions answer as OpenAI-compatible servers send it."""
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1764633600,
            "model": "stub",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )
