"""Translation by a chat model behind any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp).

The client is the ``openai`` package: it is what these servers are written against and tested
with, it maps timeouts, refused connections and HTTP statuses to typed exceptions, and its
debug logs leave out headers and bodies. Its own retries are off (``max_retries=0``): the
engine retries, backs off, batches and caches for every backend alike.

Each segment is its own chat request, so an answer can never shift onto another segment;
``max_chars`` (as ``request_chars``) also caps how many characters the engine puts in one
batch. Answers lose the chatter models add around a translation (a "Translation:" label,
wrapping quotes or a code fence, a ``<think>`` block) only where the source itself has none of
it; an answer that is still more than one line for a one-line segment is rejected, never
joined.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from python_tutor.datasets.credentials import Secrets

from .backends import RateLimiter, TranslationFailure

_THINK = re.compile(r"\A\s*<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"\A\s*```[\w-]*\n(.*?)\n?```\s*\Z", re.DOTALL)
_QUOTES = {'"': '"', "“": "”", "«": "»", "'": "'"}
# A label before the translation: "Translation:", "Here is the translation:", "Spanish:",
# "En español:" (SmolLM2's habit).
_LABEL = (
    r"\A\s*(?:(?:sure[,!.]?\s*)?here(?:'s| is) (?:the |your |my )?)?"
    r"(?:translation|traducci[oó]n|(?:en )?espa[ñn]ol|{language})\b[^:\n]{{0,40}}:[ \t]*\n*"
)


def language_name(code: str, key: str) -> str:
    """The English name of an ISO 639-1 code (``es`` -> ``Spanish``), from lingua."""
    from lingua import IsoCode639_1, Language  # noqa: PLC0415

    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.title()
    except ValueError as err:
        raise ValueError(
            f"parameters_translation.yml: {key} '{code}' is not an ISO 639-1 language code"
        ) from err


def strip_chatter(answer: str, source: str, language: str) -> str:
    """The answer without what a model wraps around a translation, where the source has none."""
    text = answer.strip()
    if "<think>" not in source:
        text = _THINK.sub("", text).strip()
    fence = _FENCE.match(text)
    if fence and "```" not in source:
        text = fence.group(1).strip()
    label = re.compile(_LABEL.format(language=re.escape(language)), re.IGNORECASE)
    if not label.match(source):
        text = label.sub("", text, count=1).strip()
    if len(text) > 1 and _QUOTES.get(text[0]) == text[-1]:
        stripped = source.strip()
        if not (stripped[:1] == text[0] and stripped[-1:] == text[-1]):
            text = text[1:-1].strip()
    return text


class LLMBackend:
    """``llm``: one chat-completions request per segment, at temperature 0 by default.

    ``cache_id`` names the model, the direction and a hash of everything that shapes the
    answer (prompts, temperature, extra request fields), so a new prompt never reuses old
    translations. The API key lives only in the client and in ``Secrets`` (for redaction).
    """

    cacheable = True

    def __init__(  # noqa: PLR0913 - every argument is a parameter of the llm block
        self,
        *,
        source: str,
        target: str,
        base_url: str | None,
        model: str | None,
        system_prompt: str,
        user_template: str,
        temperature: float,
        max_tokens: int,
        timeout_s: float,
        requests_per_second: float | None,
        max_chars: int,
        extra_body: dict[str, Any] | None = None,
        secrets: Secrets | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        import openai  # noqa: PLC0415 - only this backend needs it

        for name, value in (("base_url", base_url), ("model", model)):
            if not value:
                raise ValueError(
                    f"parameters_translation.yml: translation.backend.llm.{name} is not set; "
                    "the llm backend needs the server's /v1 URL and the model it serves"
                )
        self._settings: dict[str, Any] = {
            "base_url": base_url,
            "model": model,
            "system_prompt": system_prompt,
            "user_template": user_template,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "timeout_s": timeout_s,
            "requests_per_second": requests_per_second,
            "max_chars": max_chars,
            "extra_body": dict(extra_body or {}),
        }
        self.source, self.target = source, target
        self._target_name = language_name(target, "translation.backend.target")
        languages = {
            "source_language": language_name(source, "translation.backend.source"),
            "target_language": self._target_name,
        }
        self._system = _render(system_prompt, "system_prompt", languages)
        self._user = user_template
        _render(user_template, "user_template", {**languages, "text": ""})
        self._languages = languages
        self.model = model
        self.base_url = base_url
        self.max_chars = max_chars
        self.request_chars = max_chars  # small batches, so the engine's workers run in parallel
        shaping = {k: self._settings[k] for k in ("model", "temperature", "extra_body")}
        shaping |= {"system": self._system, "user": user_template}
        digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:12]
        self.cache_id = f"llm:{model}:{source}-{target}:{digest}"
        self._secrets = secrets or Secrets()
        self._limiter = limiter or RateLimiter(requests_per_second)
        self._client = openai.OpenAI(
            base_url=base_url,
            # Servers without keys (Ollama, llama.cpp) ignore it; never fall back to OPENAI_API_KEY.
            api_key=self._secrets.get("api_key", "no-key"),
            timeout=timeout_s,
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"LLMBackend({self.cache_id!r}, base_url={self.base_url!r})"

    def translate_batch(self, segments: list[str]) -> list[str]:
        """One request per segment, in order; any failure fails the batch (the engine retries)."""
        if any("\n" in s for s in segments):
            raise ValueError("LLM segments must be single lines")
        return [self._translate(segment) for segment in segments]

    def _translate(self, segment: str) -> str:
        content, failure = self._ask(segment)
        if failure is not None:
            # Raised outside the except block: the client's exception (which may quote a
            # server's answer about the key) is neither the cause nor the context.
            raise failure
        text = strip_chatter(content, segment, self._target_name)
        if not text:
            raise TranslationFailure("garbage_body", f"empty answer from {self.model}")
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            raise TranslationFailure(
                "garbage_body",
                f"{self.model} answered {len(lines)} lines for a one-line segment: "
                f"{self._secrets.redact(text)!r:.120}",
            )
        return lines[0].strip()

    def _ask(self, segment: str) -> tuple[str, TranslationFailure | None]:
        """The answer's text, or the failure its request ended in."""
        import openai  # noqa: PLC0415

        self._limiter.acquire()
        # No system message when the prompt is empty: some chat templates (Gemma) reject one.
        system = [{"role": "system", "content": self._system}] if self._system else []
        messages = [
            *system,
            {"role": "user", "content": self._user.format(text=segment, **self._languages)},
        ]
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self._settings["temperature"],
                max_tokens=self._settings["max_tokens"],
                extra_body=self._settings["extra_body"] or None,
            )
        except openai.APIError as err:
            return "", self._failure(err)
        except json.JSONDecodeError as err:
            return "", TranslationFailure("garbage_body", f"answer is not JSON: {err}")
        try:
            choice = completion.choices[0]
            content = choice.message.content
        except (AttributeError, IndexError, TypeError):
            shown = self._secrets.redact(str(completion))
            return "", TranslationFailure("garbage_body", f"answer has no choices: {shown!r:.120}")
        if choice.finish_reason == "length":
            return "", TranslationFailure(
                "garbage_body", f"answer cut at max_tokens={self._settings['max_tokens']}"
            )
        if not isinstance(content, str):
            return "", TranslationFailure("garbage_body", f"no text in the answer: {content!r:.40}")
        return content, None

    def _failure(self, err: Exception) -> TranslationFailure:
        """The failure kind of a client exception; details never carry the key."""
        import openai  # noqa: PLC0415

        if isinstance(err, openai.APITimeoutError):
            kind = "timeout"
        elif isinstance(err, openai.APIConnectionError):
            kind = "connection"
        elif isinstance(err, openai.RateLimitError):
            kind = "rate_limited"
        elif isinstance(err, openai.APIStatusError):
            kind = "http_error"
        elif isinstance(err, openai.APIResponseValidationError):
            kind = "garbage_body"
        else:
            kind = "backend_error"
        status = getattr(err, "status_code", None)
        detail = f"{type(err).__name__}{f' HTTP {status}' if status else ''}: {err}"
        return TranslationFailure(kind, f"{self.base_url}: {self._secrets.redact(detail)[:300]}")

    def strip_marks(self, text: str) -> tuple[str, int]:
        """Chat models mark no unknown words."""
        return text, 0

    def reverse(self) -> LLMBackend:
        """The same endpoint, model and prompts with the direction swapped (back-translation)."""
        return LLMBackend(
            **self._settings,
            source=self.target,
            target=self.source,
            secrets=self._secrets,
            limiter=self._limiter,
        )

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()


def _render(template: str, name: str, fields: dict[str, str]) -> str:
    """``template`` with ``fields`` filled in; a parameter error naming the key otherwise."""
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(
            f"parameters_translation.yml: translation.backend.llm.{name} has an unknown or "
            f"broken placeholder ({err!r}); it may use "
            + ", ".join("{" + field + "}" for field in sorted(fields))
        ) from err
