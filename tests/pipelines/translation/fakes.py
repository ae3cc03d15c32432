"""Scripted translation backends and a local HTTP stub of Google's web translator."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class GoogleStub:
    """A local stand-in for translate.google.com/m: scripted status, body and delay.

    Each request pops the next script entry (the last one repeats); ``ok`` answers the
    query's lines prefixed with ``es:`` inside the element deep-translator reads.
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, str | None, float]] = [(200, None, 0.0)]
        self.queries: list[str] = []
        self.languages: list[tuple[str, str]] = []  # (sl, tl) of each request
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                params = parse_qs(urlparse(self.path).query)
                query = params["q"][0]
                stub.queries.append(query)
                stub.languages.append((params["sl"][0], params["tl"][0]))
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
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
