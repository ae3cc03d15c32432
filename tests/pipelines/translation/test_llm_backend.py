"""The llm backend against a local OpenAI-compatible stub: requests, failures, chatter, keys."""

from __future__ import annotations

import json
import logging

import pytest

from python_tutor.datasets.credentials import Secrets
from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.pipelines.translation.backends import TranslationFailure, build_backend
from python_tutor.pipelines.translation.engine import translate_segments
from python_tutor.pipelines.translation.llm_backend import LLMBackend, strip_chatter
from python_tutor.pipelines.translation.nodes import check_translations, translate_examples

from .fakes import ChatStub, chat_completion
from .test_backends import BATCHING, RETRY_FAST, _NoCache
from .test_pipeline import EXAMPLES

CANARY = "sk-canary-5e1f0c2b9a7d"


@pytest.fixture
def chat_stub():
    stub = ChatStub()
    yield stub
    stub.close()


def llm(params, stub, secrets=None, **overrides) -> LLMBackend:
    """The llm backend as ``build_backend`` makes it from the real parameters."""
    backend = params["backend"]
    settings = {**backend["llm"], "base_url": stub.url, "model": "qwen2.5:7b", **overrides}
    return build_backend({**backend, "name": "llm", "llm": settings}, 2, secrets)


class TestRequests:
    def test_one_request_per_segment_in_order(self, params, chat_stub):
        backend = llm(params, chat_stub)
        assert backend.translate_batch(["Return XQZ0X.", "Bye."]) == ["es:Return XQZ0X.", "es:Bye."]
        bodies = [body for body, _ in chat_stub.requests]
        assert [b["messages"][-1] for b in bodies] == [
            {"role": "user", "content": "Return XQZ0X."},
            {"role": "user", "content": "Bye."},
        ]
        system = bodies[0]["messages"][0]
        assert system["role"] == "system"
        assert "from English to Spanish" in system["content"] and "XQZ0X" in system["content"]
        assert {b["model"] for b in bodies} == {"qwen2.5:7b"}
        assert {b["temperature"] for b in bodies} == {0}

    def test_templates_and_extra_fields_reach_the_server(self, params, chat_stub):
        backend = llm(
            params,
            chat_stub,
            system_prompt="",
            user_template="Translate to {target_language}: {text}",
            extra_body={"seed": 7},
        )
        backend.translate_batch(["Hello."])
        body = chat_stub.requests[0][0]
        assert body["messages"] == [{"role": "user", "content": "Translate to Spanish: Hello."}]
        assert body["seed"] == 7

    def test_reverse_swaps_the_direction_on_the_same_endpoint(self, params, chat_stub):
        forward = llm(params, chat_stub)
        backward = forward.reverse()
        assert backward.translate_batch(["Hola."]) == ["es:Hola."]
        system = chat_stub.requests[0][0]["messages"][0]["content"]
        assert "from Spanish to English" in system
        assert backward.cache_id.startswith("llm:qwen2.5:7b:es-en:")
        assert backward.cache_id != forward.cache_id.replace("en-es", "es-en")  # prompt differs
        assert forward.strip_marks("Hola XQZ0X.") == ("Hola XQZ0X.", 0)

    def test_cache_id_follows_model_and_prompt(self, params, chat_stub):
        base = llm(params, chat_stub).cache_id
        assert base == llm(params, chat_stub).cache_id
        assert base.startswith("llm:qwen2.5:7b:en-es:")
        assert llm(params, chat_stub, model="llama3.1:8b").cache_id != base
        prompt = params["backend"]["llm"]["system_prompt"] + " Use usted."
        assert llm(params, chat_stub, system_prompt=prompt).cache_id != base
        assert llm(params, chat_stub, temperature=0.7).cache_id != base

    def test_engine_retries_429_and_500_then_caches_nothing_twice(self, params, chat_stub):
        chat_stub.script = [(429, '{"error": "busy"}', 0), (500, "oops", 0), (200, None, 0)]
        sleeps: list[float] = []
        translations, failures, stats = translate_segments(
            ["Hello."],
            llm(params, chat_stub),
            _NoCache(),
            BATCHING,
            RETRY_FAST,
            sleep=sleeps.append,
        )
        assert translations == {"Hello.": "es:Hello."} and failures == {}
        assert dict(stats.retries) == {"rate_limited": 1, "http_error": 1}
        assert len(chat_stub.requests) == 3 and len(sleeps) == 2


class TestFailures:
    @pytest.mark.parametrize(
        ("status", "body", "kind"),
        [
            (429, '{"error": {"message": "Rate limit reached"}}', "rate_limited"),
            (500, "Internal Server Error", "http_error"),
            (503, '{"error": "model is loading"}', "http_error"),
            (
                404,
                '{"error": "model \\"qwen2.5:7b\\" not found, try pulling it first"}',
                "http_error",
            ),
            (200, "<html>proxy login</html>", "garbage_body"),
            (200, '{"choices": []}', "garbage_body"),
            (200, chat_completion(None), "garbage_body"),
            (200, chat_completion("   "), "garbage_body"),
            (200, chat_completion("Devuelve el valor", finish_reason="length"), "garbage_body"),
        ],
    )
    def test_answers_map_to_failure_kinds(self, params, chat_stub, status, body, kind):
        chat_stub.script = [(status, body, 0)]
        with pytest.raises(TranslationFailure) as failure:
            llm(params, chat_stub).translate_batch(["Return the value."])
        assert failure.value.kind == kind

    def test_a_slow_answer_is_a_timeout(self, params, chat_stub):
        chat_stub.script = [(200, None, 1.0)]
        with pytest.raises(TranslationFailure) as failure:
            llm(params, chat_stub, timeout_s=0.2).translate_batch(["Hello."])
        assert failure.value.kind == "timeout"
        assert len(chat_stub.requests) == 1  # the client's own retries are off

    def test_refused_connection_is_a_connection_failure(self, params, chat_stub):
        backend = llm(params, chat_stub)
        chat_stub.close()
        with pytest.raises(TranslationFailure) as failure:
            backend.translate_batch(["Hello."])
        assert failure.value.kind == "connection"

    def test_a_multi_line_answer_fails_its_segment_and_never_shifts(self, params, chat_stub):
        # SmolLM2-135M's real answer to this segment: the sentence, then code it made up.
        answer = (
            "To join two or more pathname components, inserting '/' as needed.\n```python\n"
            "def join_path(path):\n    return '/'.join(path)\n```"
        )
        chat_stub.script = [(200, chat_completion("es:uno"), 0), (200, chat_completion(answer), 0)]
        with pytest.raises(TranslationFailure, match="5 lines for a one-line") as failure:
            llm(params, chat_stub).translate_batch(
                ["One.", "Join two or more pathname components."]
            )
        assert failure.value.kind == "garbage_body"

    @pytest.mark.parametrize(
        ("key", "value", "message"),
        [
            ("model", None, r"translation.backend.llm.model is not set"),
            ("base_url", "", r"translation.backend.llm.base_url is not set"),
            ("user_template", "{segment}", r"llm.user_template has an unknown.*\{text\}"),
            ("system_prompt", "To {target_lang}", r"llm.system_prompt has an unknown"),
            ("extra_body", {"api_key": "x"}, r"llm.extra_body has \['api_key'\]: secrets go"),
        ],
    )
    def test_bad_parameters_name_their_key(self, params, chat_stub, key, value, message):
        with pytest.raises(ValueError, match=message):
            llm(params, chat_stub, **{key: value})


class TestChatter:
    @pytest.mark.parametrize(
        ("answer", "source", "expected"),
        [
            ("Translation: Devuelve XQZ0X.", "Returns XQZ0X.", "Devuelve XQZ0X."),
            (
                "Here is the translation:\n\nDevuelve la lista.",
                "Returns the list.",
                "Devuelve la lista.",
            ),
            ("Sure! Here's the Spanish translation: Hola.", "Hello.", "Hola."),
            ("Spanish: El archivo existe.", "The file exists.", "El archivo existe."),
            # SmolLM2-135M's own answer to "are not equal:" (before its second line).
            ('En español: "No son iguales"', "are not equal:", "No son iguales"),
            ('"Devuelve la clave."', "Return the key.", "Devuelve la clave."),
            ("«Devuelve la clave.»", "Return the key.", "Devuelve la clave."),
            ("```\nDevuelve la clave.\n```", "Return the key.", "Devuelve la clave."),
            ("<think>\nThe user wants Spanish.\n</think>\n\nHola.", "Hello.", "Hola."),
            # Where the source carries the same marks, they are part of the text: kept.
            ('"Hola," dijo.', '"Hello," he said.', '"Hola," dijo.'),
            ('"Sí"', '"Yes"', '"Sí"'),
            (
                "Traducción: el proceso de XQZ0X.",
                "Translation: the process of XQZ0X.",
                "Traducción: el proceso de XQZ0X.",
            ),
            # A label in the middle is no label; an answer that is only a label is empty.
            (
                "El valor de retorno: XQZ0X.",
                "The return value: XQZ0X.",
                "El valor de retorno: XQZ0X.",
            ),
            ("Translation:", "Hello.", ""),
        ],
    )
    def test_strip_chatter(self, answer, source, expected):
        assert strip_chatter(answer, source, "Spanish") == expected

    def test_stripped_answers_reach_the_engine(self, params, chat_stub):
        chat_stub.script = [(200, chat_completion('Translation: "Hola XQZ0X."'), 0)]
        assert llm(params, chat_stub).translate_batch(["Hello XQZ0X."]) == ["Hola XQZ0X."]

    def test_a_label_alone_is_garbage(self, params, chat_stub):
        chat_stub.script = [(200, chat_completion("Translation:\n"), 0)]
        with pytest.raises(TranslationFailure, match="empty answer") as failure:
            llm(params, chat_stub).translate_batch(["Hello."])
        assert failure.value.kind == "garbage_body"


class TestKeys:
    def test_the_key_is_sent_as_bearer_and_never_shown(self, params, chat_stub, caplog):
        caplog.set_level(logging.DEBUG)
        backend = llm(params, chat_stub, Secrets({"api_key": CANARY}))
        backend.translate_batch(["Hello."])
        assert chat_stub.requests[0][1] == f"Bearer {CANARY}"
        assert CANARY not in repr(backend) and CANARY not in backend.cache_id
        assert CANARY not in caplog.text and "chat/completions" in caplog.text

    def test_an_echoed_key_is_redacted_from_failures(self, params, chat_stub):
        echo = json.dumps({"error": {"message": f"Incorrect API key provided: {CANARY}"}})
        chat_stub.script = [(401, echo, 0)]
        with pytest.raises(TranslationFailure) as failure:
            llm(params, chat_stub, Secrets({"api_key": CANARY})).translate_batch(["Hello."])
        assert failure.value.kind == "http_error" and "401" in str(failure.value)
        assert CANARY not in str(failure.value) and "Incorrect API key provided: ***" in str(
            failure.value
        )
        assert failure.value.__context__ is None and failure.value.__cause__ is None

    def test_without_a_key_no_other_key_is_borrowed(self, params, chat_stub, monkeypatch):
        monkeypatch.setenv("OPENAI_API_KEY", CANARY)
        llm(params, chat_stub).translate_batch(["Hello."])
        assert chat_stub.requests[0][1] == "Bearer no-key"

    @pytest.mark.parametrize("status", [200, 401])
    def test_a_canary_key_stays_out_of_rows_report_cache_and_logs(
        self, params, chat_stub, tmp_path, caplog, status
    ):
        caplog.set_level(logging.DEBUG)
        echo = json.dumps({"error": {"message": f"Incorrect API key provided: {CANARY}"}})
        chat_stub.script = [(status, None if status == 200 else echo, 0)]
        backend = {
            **params["backend"],
            "name": "llm",
            "llm": {**params["backend"]["llm"], "base_url": chat_stub.url, "model": "m"},
        }
        cache = TranslationCache(tmp_path / "cache")
        candidates, run_stats = translate_examples(
            EXAMPLES,
            cache,
            backend,
            params["batching"],
            {**params["retry"], "max_attempts": 1},
            params["protect"],
            params["segment"],
            False,
            Secrets({"api_key": CANARY}),
        )
        kept, rejected, report, _ = check_translations(
            candidates, run_stats, params["protect"], params["quality"]
        )
        assert {auth for _, auth in chat_stub.requests} == {f"Bearer {CANARY}"}
        assert len(rejected) == (0 if status == 200 else len(EXAMPLES))
        # Forward sentences and, for this backend, their back-translations (a quality signal).
        cached = run_stats["segments_unique"] + run_stats["back_translated_segments"]
        assert len(cache) == (cached if status == 200 else 0)
        shown = [
            candidates.to_json(),
            kept.to_json(),
            rejected.to_json(),
            json.dumps(report),
            json.dumps(list(cache.items())),
            caplog.text,
        ]
        assert not [text for text in shown if CANARY in text]
