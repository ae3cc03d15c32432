"""Translation backends: Apertium (offline), any deep-translator translator by name, an LLM
(llm_backend.py), none.

A backend translates a batch of one-line segments and raises ``TranslationFailure`` with a
``kind`` the engine counts and may retry. Each has a ``cache_id`` (backend and language pair,
the cache key prefix), ``max_chars``, the longest segment it takes, and ``request_chars``, the
most characters one request may carry (None: only ``translation.batching`` limits a batch).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol

from python_tutor.datasets.credentials import Secrets
from python_tutor.private_api.deep_translator import set_base_url


class TranslationFailure(Exception):
    """A request that did not produce a usable translation; ``kind`` is one of
    python_tutor.parameters.translation.FAILURE_KINDS."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class Backend(Protocol):
    """What the engine needs from a backend."""

    cache_id: str
    max_chars: int
    request_chars: int | None
    cacheable: bool

    def translate_batch(self, segments: list[str]) -> list[str]:
        """Translate one-line segments; the result has one translation per segment, in order."""
        ...

    def close(self) -> None:
        """Release processes, threads or connections."""
        ...

    def strip_marks(self, text: str) -> tuple[str, int]:
        """The translation without the backend's unknown-word marks, and how many there were."""
        ...

    def reverse(self) -> Backend | None:
        """A backend for the opposite direction (back-translation checks), None if not offered."""
        ...


class PassThroughBackend:
    """``none``: the data is already in the target language; nothing is sent or cached."""

    cache_id = "none"
    cacheable = False

    request_chars = None

    def __init__(self, max_chars: int = 100_000) -> None:
        self.max_chars = max_chars

    def translate_batch(self, segments: list[str]) -> list[str]:
        """Return the segments unchanged."""
        return list(segments)

    def close(self) -> None:
        """Nothing to release."""

    def strip_marks(self, text: str) -> tuple[str, int]:
        """Nothing is marked."""
        return text, 0

    def reverse(self) -> None:
        """Nothing to translate back."""


# Apertium marks a word it could not analyse ``*``, translate ``@`` and generate ``#``. The
# text may hold the same characters (Markdown emphasis, decorators, C#), so they travel as
# private-use characters and every ``*@#`` in the output is a mark; marks are then stored as
# their own private-use characters, so ``strip_marks`` never touches the text's own ``*@#``.
_LITERALS = {"*": "\ue000", "@": "\ue001", "#": "\ue002"}
_MARKS = {"*": "\ue010", "@": "\ue011", "#": "\ue012"}
_ESCAPE = str.maketrans(_LITERALS)
_STORE = str.maketrans(_MARKS | {v: k for k, v in _LITERALS.items()})
_MARKED = re.compile(f"[{''.join(_MARKS.values())}](\\w*)")
_RESERVED = re.compile(f"[{''.join(_LITERALS.values())}{''.join(_MARKS.values())}]")
_MODE_FILE = re.compile(r"'(/[^']+)'")


class ApertiumBackend:
    """Apertium through its command line: one process per batch, one segment per line.

    Start-up dominates Apertium's cost (about 133 ms a call, 2 ms a line), so a batch of lines
    goes through one process. ``modes_dir`` holds compiled modes of the repo (the tutor mode,
    ``make apertium-tutor``); None uses the installed ones. Unknown words stay marked in the
    output (cached so) for ``strip_marks`` to count; a mark on a placeholder is removed but
    not counted, since code is unknown to Apertium by design.
    """

    cacheable = True
    request_chars = None  # one process per batch: no request limit

    def __init__(  # noqa: PLR0913 - every argument is a parameter of the apertium block
        self,
        *,
        executable: str,
        mode: str,
        modes_dir: str | None,
        max_chars: int,
        timeout_s: float,
        placeholder: str | None = None,
    ) -> None:
        if shutil.which(executable) is None:
            raise ValueError(
                f"parameters_translation.yml: translation.backend.apertium.executable "
                f"'{executable}' is not on PATH; install apertium and apertium-eng-spa "
                "(make system-deps)"
            )
        self.executable = executable
        self.mode = mode
        self.modes_dir = str(locate_modes_dir(modes_dir)) if modes_dir is not None else None
        self.max_chars = max_chars
        self.timeout_s = timeout_s
        # Entries carry marks (older unmarked ones must not be read as mark-free).
        self.cache_id = f"apertium-marked:{mode}"
        if modes_dir is not None:
            self.cache_id += f":{_mode_digest(Path(self.modes_dir), mode)}"
        self._placeholder = (
            re.compile(re.escape(placeholder).replace(re.escape("{index}"), r"\d+"), re.I)
            if placeholder
            else None
        )

    def translate_batch(self, segments: list[str]) -> list[str]:
        """Send the segments as the lines of one Apertium call."""
        if any("\n" in s for s in segments):
            raise ValueError("Apertium segments must be single lines")
        reserved = next((s for s in segments if _RESERVED.search(s)), None)
        if reserved is not None:
            raise TranslationFailure(
                "backend_error",
                f"segment holds a private-use character U+E000-U+E012: {reserved!r:.80}",
            )
        command = [self.executable, self.mode]
        if self.modes_dir is not None:
            command = [self.executable, "-d", self.modes_dir, self.mode]
        try:
            done = subprocess.run(
                command,
                input="\n".join(s.translate(_ESCAPE) for s in segments) + "\n",
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise TranslationFailure("timeout", f"apertium took over {self.timeout_s} s") from err
        if done.returncode != 0:
            raise TranslationFailure(
                "backend_error", f"apertium exited {done.returncode}: {done.stderr.strip()[:200]}"
            )
        lines = done.stdout.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != len(segments):
            raise TranslationFailure(
                "garbage_body", f"apertium returned {len(lines)} lines for {len(segments)}"
            )
        return [line.strip().translate(_STORE) for line in lines]

    def strip_marks(self, text: str) -> tuple[str, int]:
        """The text without Apertium's marks, and how many words were marked (placeholders not)."""
        count = sum(
            1
            for match in _MARKED.finditer(text)
            if not (self._placeholder and self._placeholder.fullmatch(match.group(1)))
        )
        return _MARKED.sub(lambda m: m.group(1), text), count

    def reverse(self) -> None:
        """Back-translation is offered by web and LLM backends only."""

    def close(self) -> None:
        """Each call is its own process; nothing stays open."""


CHECKOUT = Path(__file__).resolve().parents[4]  # where `make apertium-tutor` builds the mode


def locate_modes_dir(modes_dir: str) -> Path:
    """A relative ``modes_dir`` as found from the working directory (a project run from its
    root), else from the checkout that built it (a copy of the project elsewhere, as tests and
    benchmarks make, runs the same compiled mode)."""
    path = Path(modes_dir)
    if path.is_absolute() or (path / "modes").is_dir():
        return path
    return CHECKOUT / path if (CHECKOUT / path / "modes").is_dir() else path


def _mode_digest(modes_dir: Path, mode: str) -> str:
    """A digest of a compiled mode and the files it runs, so rebuilt rules miss the cache."""
    path = modes_dir / "modes" / f"{mode}.mode"
    hint = "build it with `make apertium-tutor`"
    if not path.is_file():
        raise ValueError(
            f"parameters_translation.yml: translation.backend.apertium.modes_dir "
            f"'{modes_dir}' has no compiled mode '{mode}' ({path} is missing); {hint}"
        )
    text = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode())
    for name in _MODE_FILE.findall(text):
        if not Path(name).is_file():
            raise ValueError(f"{path} runs {name}, which is missing; {hint}")
        if Path(name).is_relative_to(modes_dir.resolve()):
            digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:12]


class RateLimiter:
    """At most ``per_second`` request starts a second, shared by every worker thread."""

    def __init__(
        self,
        per_second: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        """Wait until this request may start; reserve its slot first so threads queue fairly."""
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


def deep_translator_class(name: str) -> type:
    """The deep-translator class for ``name`` (``google`` -> ``GoogleTranslator``)."""
    import deep_translator  # noqa: PLC0415 - only web backends need it (and bs4, requests)

    classes = {
        cls_name.removesuffix("Translator").lower(): getattr(deep_translator, cls_name)
        for cls_name in deep_translator.__all__
        if cls_name.endswith("Translator")
    }
    if name.lower() not in classes:
        raise ValueError(
            f"parameters_translation.yml: translation.backend.name '{name}' is not 'apertium', "
            f"'llm', 'none' or a deep-translator translator ({', '.join(sorted(classes))})"
        )
    return classes[name.lower()]


class DeepTranslatorBackend:
    """Any deep-translator translator by name, with a timeout and a shared rate limit.

    Segments of a batch travel as the lines of one request; when the service returns another
    number of lines, each segment is sent alone. deep-translator calls ``requests`` without a
    timeout, so each request runs on an I/O thread the backend stops waiting for after
    ``timeout_s``. Translator objects keep request state, so each request builds its own.
    Keys come from ``secrets`` (credentials.yml) and are merged into the translator's keyword
    arguments; failure details have them redacted.
    """

    cacheable = True

    def __init__(  # noqa: PLR0913 - every argument is a parameter of the web block
        self,
        *,
        name: str,
        source: str,
        target: str,
        options: dict[str, Any] | None,
        base_url: str | None,
        max_chars: int,
        timeout_s: float,
        requests_per_second: float | None,
        concurrency: int,
        secrets: Secrets | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._cls = deep_translator_class(name)
        refuse_secrets(options, "translation.backend.web.options")
        self._secrets = secrets or Secrets()
        self._kwargs = {"source": source, "target": target, **(options or {}), **self._secrets}
        self._base_url = base_url
        self.max_chars = max_chars
        self.request_chars = max_chars  # a batch travels as one request
        self.timeout_s = timeout_s
        self.cache_id = f"{name.lower()}:{source}-{target}"
        self._limiter = limiter or RateLimiter(requests_per_second)
        self._io = ThreadPoolExecutor(max_workers=max(1, concurrency) * 2, thread_name_prefix="mt")
        self._settings = {
            "name": name,
            "source": source,
            "target": target,
            "options": options,
            "base_url": base_url,
            "max_chars": max_chars,
            "timeout_s": timeout_s,
            "requests_per_second": requests_per_second,
            "concurrency": concurrency,
        }

    def __repr__(self) -> str:
        return f"DeepTranslatorBackend({self.cache_id!r})"

    def translate_batch(self, segments: list[str]) -> list[str]:
        """One request for the joined lines, or one per segment when the lines do not match."""
        if len(segments) > 1:
            lines = self._request("\n".join(segments)).split("\n")
            if len(lines) == len(segments):
                return [line.strip() for line in lines]
        return [self._request(segment) for segment in segments]

    def _request(self, text: str) -> str:
        self._limiter.acquire()
        future = self._io.submit(self._call, text)
        try:
            result = future.result(timeout=self.timeout_s)
        except FutureTimeout as err:
            future.cancel()
            raise TranslationFailure("timeout", f"no answer within {self.timeout_s} s") from err
        if not isinstance(result, str) or not result.strip():
            raise TranslationFailure("garbage_body", f"empty or non-text answer {result!r:.80}")
        return result

    def _call(self, text: str) -> Any:
        import requests  # noqa: PLC0415
        from deep_translator import exceptions  # noqa: PLC0415

        try:
            translator = self._cls(**self._kwargs)  # raises when a required key is missing
            if self._base_url:
                set_base_url(translator, self._base_url)
            return translator.translate(text)
        except exceptions.AuthorizationException:  # its message quotes the key
            failure = TranslationFailure("http_error", "HTTP 403: the service refused the key")
        except exceptions.TooManyRequests as err:
            raise TranslationFailure("rate_limited", "HTTP 429") from err
        except (exceptions.RequestError, exceptions.ServerException) as err:
            raise TranslationFailure("http_error", "non-2xx HTTP status") from err
        except exceptions.TranslationNotFound as err:
            raise TranslationFailure("garbage_body", "no translation in the answer") from err
        except requests.Timeout as err:
            failure = TranslationFailure("timeout", self._secrets.redact(str(err)))
        except requests.ConnectionError as err:
            failure = TranslationFailure("connection", self._secrets.redact(str(err)))
        except exceptions.BaseError as err:
            failure = TranslationFailure("backend_error", self._secrets.redact(str(err)))
        # Raised outside the except blocks: a key in a request URL stays out of the context.
        raise failure

    def strip_marks(self, text: str) -> tuple[str, int]:
        """Web translators do not mark unknown words."""
        return text, 0

    def reverse(self) -> DeepTranslatorBackend:
        """The same translator from target to source, sharing this one's rate limit."""
        swapped = {"source": self._settings["target"], "target": self._settings["source"]}
        return DeepTranslatorBackend(**{**self._settings, **swapped}, limiter=self._limiter)

    def close(self) -> None:
        """Stop waiting for requests that timed out."""
        self._io.shutdown(wait=False, cancel_futures=True)


# Names of keyword arguments that hold secrets (api_key, secret_key, appkey, client_id, ...).
_SECRET_NAME = re.compile(r"key|secret|token|password|client_id|appid", re.IGNORECASE)


def refuse_secrets(options: dict[str, Any] | None, key: str) -> None:
    """Parameters are logged (kedro-mlflow, lineage): a key there is an error naming it."""
    found = sorted(name for name in options or {} if _SECRET_NAME.search(name))
    if found:
        raise ValueError(
            f"parameters_translation.yml: {key} has {found}: secrets go in "
            "conf/local/credentials.yml under `translation:` (or TRANSLATION_API_KEY), never "
            "in parameters, which are logged"
        )


def build_backend(
    params: dict[str, Any],
    concurrency: int,
    secrets: Secrets | None = None,
    placeholder: str | None = None,
) -> Backend:
    """The backend the ``translation.backend`` parameters name; ``secrets`` hold its keys.

    ``placeholder`` (``translation.protect.placeholder``) keeps Apertium from counting the
    placeholders it marks as unknown words.
    """
    name = params["name"]
    if name == "none":
        return PassThroughBackend()
    if name == "apertium":
        return ApertiumBackend(**params["apertium"], placeholder=placeholder)
    if name == "llm":
        from .llm_backend import LLMBackend  # noqa: PLC0415 - imports openai; imports us

        llm = params["llm"]
        refuse_secrets(llm.get("extra_body"), "translation.backend.llm.extra_body")
        return LLMBackend(source=params["source"], target=params["target"], secrets=secrets, **llm)
    web = params["web"]
    return DeepTranslatorBackend(
        name=name,
        source=params["source"],
        target=params["target"],
        options=web.get("options"),
        base_url=web.get("base_url"),
        max_chars=web["max_chars"],
        timeout_s=web["timeout_s"],
        requests_per_second=web.get("requests_per_second"),
        concurrency=concurrency,
        secrets=secrets,
    )
