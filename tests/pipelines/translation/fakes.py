"""Scripted translation backends and local HTTP stubs of Google's translator and a chat API."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from python_tutor.pipelines.translation.backends import TranslationFailure


class FakeBackend:
    """Upper-cases each segment (placeholders included, so they survive), counting calls.

    ``fail_after`` batches, it raises ``crash`` (an interrupt) or a TranslationFailure kind.
    """

    cacheable = True
    max_chars = 1000
    request_chars = 1000

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

    def strip_marks(self, text: str) -> tuple[str, int]:
        return text, 0

    def reverse(self) -> None:
        return None


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


class JoiningBackend(FakeBackend):
    """Like Apertium once did: a segment with ``joiner`` swallows the next line of its batch."""

    def __init__(self, joiner: str) -> None:
        super().__init__()
        self.joiner = joiner

    def translate_batch(self, segments: list[str]) -> list[str]:
        if any(self.joiner in s for s in segments[:-1]):
            raise TranslationFailure(
                "garbage_body", f"{len(segments) - 1} lines for {len(segments)}"
            )
        return super().translate_batch(segments)


class KeywordBackend(FakeBackend):
    """Translates Python's words the way Apertium's general dictionary does (and keeps the rest).

    A backend that would corrupt any code it is given: what protection must never let through.
    """

    WORDS = {
        "for": "para",
        "in": "en",
        "return": "devolver",
        "def": "definir",
        "print": "huella",
        "import": "importación",
        "from": "de",
        "float": "flotador",
        "if": "si",
        "enumerate": "enumerar",
        "numbers": "números",
        "True": "Cierto",
        "ROUND_UP": "RONDA_ARRIBA",
        "Context": "Contexto",
        "rounding": "redondeo",
        "traps": "trampas",
        "quantize": "cuantizar",
    }

    def translate_batch(self, segments: list[str]) -> list[str]:
        super().translate_batch(segments)
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, self.WORDS)) + r")\b")
        return [pattern.sub(lambda m: self.WORDS[m.group(1)], s) for s in segments]


class ScriptedServer:
    """A threaded HTTP server on 127.0.0.1 that answers every request from ``script``.

    Each request pops the next ``(status, body, delay)`` entry (the last one repeats); a
    ``None`` body is the subclass's ``default`` answer. ``record`` keeps what was asked.
    """

    content_type = "text/plain"
    path = "/"

    def __init__(self) -> None:
        self.script: list[tuple[int, str | None, float]] = [(200, None, 0.0)]
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.reply(self)

            do_POST = do_GET

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{self.path}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def reply(self, handler: BaseHTTPRequestHandler) -> None:
        """Record the request, wait the entry's delay, send its status and body."""
        request = self.record(handler)
        status, body, delay = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        time.sleep(delay)
        if body is None:
            status, body = self.default(handler.path, request)
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        try:
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def record(self, handler: BaseHTTPRequestHandler) -> Any:
        """Keep what the request asked; its return value goes to ``default``."""
        raise NotImplementedError

    def default(self, path: str, request: Any) -> tuple[int, str]:
        """The status and body of a successful answer."""
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GoogleStub(ScriptedServer):
    """A local stand-in for translate.google.com/m.

    ``default`` answers the query's lines prefixed with ``es:`` inside the element
    deep-translator reads. ``params`` keeps every request's query parameters (DeepL-style
    services send ``text`` and a key).
    """

    content_type = "text/html; charset=utf-8"
    path = "/m"

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.params: list[dict[str, list[str]]] = []
        self.languages: list[tuple[str, str]] = []  # (sl, tl) of each request
        super().__init__()

    def record(self, handler: BaseHTTPRequestHandler) -> str:
        params = parse_qs(urlparse(handler.path).query)
        self.params.append(params)
        if "sl" in params:
            self.languages.append((params["sl"][0], params["tl"][0]))
        query = (params.get("q") or params.get("text"))[0]
        self.queries.append(query)
        return query

    def default(self, path: str, request: str) -> tuple[int, str]:
        lines = "\n".join(f"es:{line}" for line in request.split("\n"))
        return 200, f'<html><div class="result-container">{lines}</div></html>'


class ChatStub(ScriptedServer):
    """A local OpenAI-compatible chat-completions server.

    ``default`` answers a real chat completion: ``es:`` + the user message, or, with
    ``upstream`` set, whatever that server answers (a fault injector in front of a real model
    server). ``requests`` keeps each request's JSON body and Authorization header.
    """

    content_type = "application/json"
    path = "/v1"

    def __init__(self, upstream: str | None = None) -> None:
        self.requests: list[tuple[dict, str | None]] = []
        self.upstream = upstream
        super().__init__()

    def record(self, handler: BaseHTTPRequestHandler) -> dict:
        body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
        self.requests.append((body, handler.headers.get("Authorization")))
        return body

    def default(self, path: str, request: dict) -> tuple[int, str]:
        if self.upstream:
            forward = urllib.request.Request(
                self.upstream + path.removeprefix("/v1"),
                data=json.dumps(request).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(forward, timeout=120) as response:
                return response.status, response.read().decode()
        return 200, chat_completion("es:" + request["messages"][-1]["content"])


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
