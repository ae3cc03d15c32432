"""Backends: Apertium through its CLI, deep-translator against a local HTTP stub, none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from python_tutor.datasets.credentials import Secrets
from python_tutor.pipelines.translation.backends import (
    ApertiumBackend,
    DeepTranslatorBackend,
    PassThroughBackend,
    RateLimiter,
    TranslationFailure,
    build_backend,
)
from python_tutor.pipelines.translation.engine import translate_segments

from .fakes import FakeBackend

RETRY_FAST = {
    "max_attempts": 3,
    "initial_wait_s": 0.5,
    "max_wait_s": 4,
    "retry_on": ["timeout", "rate_limited", "http_error", "connection"],
}
BATCHING = {"batch_size": 10, "batch_max_chars": 1000, "concurrency": 2}
CANARY = "sk-canary-3b8e2a61f4d0"


def google(stub, **overrides) -> DeepTranslatorBackend:
    settings = {
        "name": "google",
        "source": "en",
        "target": "es",
        "options": {},
        "base_url": stub.url,
        "max_chars": 4500,
        "timeout_s": 2.0,
        "requests_per_second": None,
        "concurrency": 2,
        **overrides,
    }
    return DeepTranslatorBackend(**settings)


class TestWebBackend:
    def test_a_batch_travels_as_one_request_of_lines(self, google_stub):
        backend = google(google_stub)
        assert backend.translate_batch(["One.", "Two XQZ0X."]) == ["es:One.", "es:Two XQZ0X."]
        assert google_stub.queries == ["One.\nTwo XQZ0X."]
        backend.close()

    def test_fewer_lines_back_falls_back_to_one_request_each(self, google_stub):
        merged = '<div class="result-container">es:both</div>'
        google_stub.script = [(200, merged, 0), (200, None, 0)]
        backend = google(google_stub)
        assert backend.translate_batch(["A.", "B."]) == ["es:A.", "es:B."]
        assert google_stub.queries == ["A.\nB.", "A.", "B."]

    @pytest.mark.parametrize(
        ("status", "body", "kind"),
        [
            (429, "slow down", "rate_limited"),
            (503, "unavailable", "http_error"),
            (500, "oops", "http_error"),
            (200, "<html><p>no translation here</p></html>", "garbage_body"),
            (200, '<div class="result-container">   </div>', "garbage_body"),
        ],
    )
    def test_http_failures_have_a_kind(self, google_stub, status, body, kind):
        google_stub.script = [(status, body, 0)]
        with pytest.raises(TranslationFailure) as failure:
            google(google_stub).translate_batch(["Hello."])
        assert failure.value.kind == kind

    def test_a_slow_answer_is_a_timeout(self, google_stub):
        google_stub.script = [(200, None, 1.0)]
        with pytest.raises(TranslationFailure) as failure:
            google(google_stub, timeout_s=0.2).translate_batch(["Hello."])
        assert failure.value.kind == "timeout"

    def test_refused_connection_is_a_connection_failure(self, google_stub):
        url = google_stub.url
        google_stub.close()
        with pytest.raises(TranslationFailure) as failure:
            google(google_stub, base_url=url).translate_batch(["Hello."])
        assert failure.value.kind == "connection"

    def test_engine_retries_429_and_5xx_with_backoff_then_succeeds(self, google_stub):
        google_stub.script = [(429, "x", 0), (503, "x", 0), (200, None, 0)]
        sleeps: list[float] = []
        translations, failures, stats = translate_segments(
            ["Hello."],
            google(google_stub),
            _NoCache(),
            BATCHING,
            RETRY_FAST,
            sleep=sleeps.append,
        )
        assert translations == {"Hello.": "es:Hello."}
        assert failures == {}
        assert dict(stats.retries) == {"rate_limited": 1, "http_error": 1}
        assert len(sleeps) == 2 and all(0 <= s <= 4 for s in sleeps)

    def test_garbage_is_not_retried_and_fails_its_segments(self, google_stub):
        google_stub.script = [(200, "<p>garbage</p>", 0)]
        sleeps: list[float] = []
        translations, failures, stats = translate_segments(
            ["Hello."],
            google(google_stub),
            _NoCache(),
            BATCHING,
            RETRY_FAST,
            sleep=sleeps.append,
        )
        assert translations == {} and kinds(failures) == {"Hello.": "garbage_body"}
        assert sleeps == [] and stats.failed_segments["garbage_body"] == 1

    def test_retries_give_up_after_max_attempts(self, google_stub):
        google_stub.script = [(503, "x", 0)]
        _, failures, stats = translate_segments(
            ["Hello."],
            google(google_stub),
            _NoCache(),
            BATCHING,
            RETRY_FAST,
            sleep=lambda s: None,
        )
        assert kinds(failures) == {"Hello.": "http_error"}
        assert len(google_stub.queries) == RETRY_FAST["max_attempts"]
        assert stats.retries["http_error"] == RETRY_FAST["max_attempts"] - 1

    def test_unknown_translator_name_is_a_parameter_error(self, params):
        with pytest.raises(ValueError, match=r"translation.backend.name 'babelfish'.*google"):
            build_backend({**params["backend"], "name": "babelfish"}, concurrency=1)


class _NoCache:
    def get_many(self, backend_id, texts):
        return {}

    def put_many(self, backend_id, pairs):
        pass


class TestRateLimiter:
    def test_requests_are_spaced_by_the_rate(self):
        now = [0.0]
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)

        limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
        for _ in range(3):
            limiter.acquire()
        assert waits == [0.25, 0.5]

    def test_no_rate_means_no_wait(self):
        limiter = RateLimiter(None, clock=lambda: 0.0, sleep=pytest.fail)
        limiter.acquire()


def fake_apertium(folder, params, shell: str) -> ApertiumBackend:
    """An Apertium backend whose executable is a shell script (to script its failures)."""
    script = folder / "apertium"
    script.write_text(f"#!/bin/sh\n{shell}\n")
    script.chmod(0o755)
    settings = {**params["backend"]["apertium"], "executable": str(script), "modes_dir": None}
    return ApertiumBackend(**settings)


class TestApertium:
    def test_one_process_translates_a_batch_of_lines(self, params, tutor_mode):
        backend = build_backend(
            params["backend"], concurrency=1, placeholder=params["protect"]["placeholder"]
        )
        assert isinstance(backend, ApertiumBackend)
        out = backend.translate_batch(["The house is red.", "I have XQZ0X dogs."])
        assert [backend.strip_marks(line) for line in out] == [
            ("La casa es roja.", 0),
            ("Tengo XQZ0X perros.", 0),
        ]

    def test_a_missing_tutor_mode_names_the_make_target(self, params, tmp_path, apertium):
        settings = {**params["backend"]["apertium"], "modes_dir": str(tmp_path)}
        with pytest.raises(ValueError, match=r"apertium.modes_dir .*`make apertium-tutor`"):
            ApertiumBackend(**settings)

    def test_a_stale_tutor_mode_names_the_make_target(self, params, tmp_path, apertium):
        (tmp_path / "modes").mkdir()
        (tmp_path / "modes/eng-spa-tutor.mode").write_text(
            f"lt-proc '{tmp_path}/gone.automorf.bin'\n"
        )
        settings = {**params["backend"]["apertium"], "modes_dir": str(tmp_path)}
        with pytest.raises(
            ValueError, match=r"gone.automorf.bin, which is missing.*apertium-tutor"
        ):
            ApertiumBackend(**settings)

    def test_the_plain_mode_stays_selectable(self, params, apertium):
        plain = {**params["backend"]["apertium"], "mode": "eng-spa", "modes_dir": None}
        backend = ApertiumBackend(**plain)
        assert backend.cache_id == "apertium-marked:eng-spa"
        assert backend.translate_batch(["Return the file name."]) == ["Regreso el nombre de lima."]

    def test_missing_executable_names_the_parameter(self, params):
        settings = {**params["backend"]["apertium"], "executable": "no-such-apertium"}
        with pytest.raises(ValueError, match="apertium.executable 'no-such-apertium'"):
            ApertiumBackend(**settings)

    def test_a_failing_process_is_a_backend_error(self, tmp_path, params):
        backend = fake_apertium(tmp_path, params, "echo broken >&2\nexit 3")
        with pytest.raises(TranslationFailure, match="exited 3: broken") as failure:
            backend.translate_batch(["Hello."])
        assert failure.value.kind == "backend_error"

    def test_a_lost_line_is_garbage(self, tmp_path, params):
        backend = fake_apertium(tmp_path, params, "head -n 1")
        with pytest.raises(TranslationFailure, match="1 lines for 2") as failure:
            backend.translate_batch(["One.", "Two."])
        assert failure.value.kind == "garbage_body"


def test_none_and_web_have_no_marks_and_only_web_translates_back(google_stub):
    assert PassThroughBackend().strip_marks("*texto* con @marcas#") == ("*texto* con @marcas#", 0)
    assert PassThroughBackend().reverse() is None
    backend = google(google_stub)
    assert backend.strip_marks("*x* @y #z") == ("*x* @y #z", 0)
    back = backend.reverse()
    assert back.cache_id == "google:es-en"
    assert back.translate_batch(["Hola."]) == ["es:Hola."]
    assert google_stub.languages == [("es", "en")]
    backend.close()
    back.close()


def test_none_passes_text_through_and_skips_the_cache():
    backend = PassThroughBackend()
    cache = FakeBackend()  # anything without get_many/put_many would fail if touched
    translations, _, stats = translate_segments(
        ["Ya está en español."], backend, cache, BATCHING, RETRY_FAST
    )
    assert translations == {"Ya está en español.": "Ya está en español."}
    assert stats.cache_hits == 0


def kinds(failures: dict) -> dict[str, str]:
    """Each failed segment's failure kind."""
    return {segment: error.kind for segment, error in failures.items()}


class TestWebKeys:
    """Keys come from credentials (Secrets) into the translator's kwargs, never into failures."""

    def test_a_credentials_key_reaches_the_service_and_stays_out_of_failures(self, google_stub):
        deepl_answer = json.dumps(
            {"translations": [{"detected_source_language": "EN", "text": "Hola."}]}
        )
        google_stub.script = [(200, deepl_answer, 0), (403, "Forbidden", 0)]
        backend = google(
            google_stub,
            name="deepl",
            base_url=google_stub.url.removesuffix("/m") + "/v2/",
            secrets=Secrets({"api_key": CANARY}),
        )
        assert backend.translate_batch(["Hello."]) == ["Hola."]
        assert google_stub.params[0]["auth_key"] == [CANARY]
        with pytest.raises(TranslationFailure) as refused:
            backend.translate_batch(["Hello."])
        assert refused.value.kind == "http_error" and CANARY not in str(refused.value)
        assert CANARY not in repr(backend)

    def test_a_key_in_a_failed_request_url_is_redacted(self, google_stub):
        url = google_stub.url.removesuffix("/m") + "/v2/"
        google_stub.close()
        backend = google(
            google_stub, name="deepl", base_url=url, secrets=Secrets({"api_key": CANARY})
        )
        with pytest.raises(TranslationFailure) as failure:
            backend.translate_batch(["Hello."])
        assert failure.value.kind == "connection"
        assert "auth_key=***" in str(failure.value) and CANARY not in str(failure.value)
        assert failure.value.__context__ is None

    def test_a_key_in_parameters_is_an_error(self, params):
        web = {**params["backend"]["web"], "options": {"api_key": CANARY}}
        with pytest.raises(ValueError, match=r"web.options has \['api_key'\]: secrets go in"):
            build_backend({**params["backend"], "name": "deepl", "web": web}, concurrency=1)


def test_a_project_copy_elsewhere_finds_the_checkouts_compiled_mode(tmp_path, monkeypatch):
    from python_tutor.pipelines.translation.backends import CHECKOUT, locate_modes_dir

    if not (CHECKOUT / ".cache/apertium/modes").is_dir():
        pytest.skip("the tutor mode is not built (make apertium-tutor)")
    monkeypatch.chdir(tmp_path)
    assert locate_modes_dir(".cache/apertium") == CHECKOUT / ".cache/apertium"
    (tmp_path / ".cache/apertium/modes").mkdir(parents=True)  # a project's own build wins
    assert locate_modes_dir(".cache/apertium") == Path(".cache/apertium")
    assert locate_modes_dir("/elsewhere") == Path("/elsewhere")
