"""The engine: batching, cache hits, and a run killed halfway that loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.pipelines.translation.backends import TranslationFailure
from python_tutor.pipelines.translation.engine import (
    failure_reason,
    make_batches,
    translate_segments,
)

from .fakes import FakeBackend, FlakyBackend, JoiningBackend

BATCHING = {"batch_size": 3, "batch_max_chars": 1000, "concurrency": 1}
RETRY = {
    "max_attempts": 3,
    "initial_wait_s": 0.1,
    "max_wait_s": 1,
    "retry_on": ["timeout", "rate_limited", "http_error", "connection"],
}
SEGMENTS = [f"Sentence number {i}." for i in range(10)]


def test_batches_respect_size_and_characters():
    batches = make_batches(["aaaa", "bbbb", "cc", "d"], batch_size=3, max_chars=9)
    assert batches == [["aaaa", "bbbb"], ["cc", "d"]]
    assert make_batches([], 3, 9) == []


def test_each_distinct_segment_is_sent_once(tmp_path):
    backend = FakeBackend()
    translations, failures, stats = translate_segments(
        SEGMENTS + SEGMENTS[:4], backend, TranslationCache(tmp_path), BATCHING, RETRY
    )
    assert sorted(backend.segments_sent) == sorted(SEGMENTS)
    assert translations == {s: s.upper() for s in SEGMENTS}
    assert failures == {}
    assert stats.batches == 4
    assert stats.characters_sent == sum(map(len, SEGMENTS))


def test_a_second_run_is_all_cache_hits(tmp_path):
    translate_segments(SEGMENTS, FakeBackend(), TranslationCache(tmp_path), BATCHING, RETRY)
    again = FakeBackend()
    translations, _, stats = translate_segments(
        SEGMENTS, again, TranslationCache(tmp_path), BATCHING, RETRY
    )
    assert again.batches == []
    assert stats.cache_hits == len(SEGMENTS) and stats.segments_translated == 0
    assert translations["Sentence number 3."] == "SENTENCE NUMBER 3."


def test_the_cache_key_includes_the_backend(tmp_path):
    translate_segments(SEGMENTS, FakeBackend("one"), TranslationCache(tmp_path), BATCHING, RETRY)
    other = FakeBackend("two")
    translate_segments(SEGMENTS, other, TranslationCache(tmp_path), BATCHING, RETRY)
    assert sorted(other.segments_sent) == sorted(SEGMENTS)


def test_interrupted_run_resumes_without_translating_twice(tmp_path):
    first = FakeBackend(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        translate_segments(SEGMENTS, first, TranslationCache(tmp_path), BATCHING, RETRY)
    assert len(first.segments_sent) == 6
    second = FakeBackend()
    translations, _, stats = translate_segments(
        SEGMENTS, second, TranslationCache(tmp_path), BATCHING, RETRY
    )
    assert stats.cache_hits == 6
    assert set(first.segments_sent).isdisjoint(second.segments_sent)
    assert sorted(first.segments_sent + second.segments_sent) == sorted(SEGMENTS)
    assert len(translations) == len(SEGMENTS)


def test_transient_failures_are_retried(tmp_path):
    backend = FlakyBackend(["timeout", "rate_limited"])
    sleeps: list[float] = []
    translations, failures, stats = translate_segments(
        SEGMENTS[:2], backend, TranslationCache(tmp_path), BATCHING, RETRY, sleep=sleeps.append
    )
    assert failures == {} and len(translations) == 2
    assert backend.attempts == 3 and len(sleeps) == 2
    assert dict(stats.retries) == {"rate_limited": 1, "timeout": 1}


KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from python_tutor.datasets.translation_cache import TranslationCache
    from python_tutor.pipelines.translation.engine import translate_segments
    from pipelines.translation.fakes import FakeBackend

    class KilledBackend(FakeBackend):
        def translate_batch(self, segments):
            if len(self.batches) == 2:  # two batches answered: die without any cleanup
                os.kill(os.getpid(), signal.SIGKILL)
            return super().translate_batch(segments)

    segments = [f"Sentence number {{i}}." for i in range(10)]
    translate_segments(segments, KilledBackend(), TranslationCache(sys.argv[1]),
                       {{"batch_size": 3, "batch_max_chars": 1000, "concurrency": 1}},
                       {{"max_attempts": 1, "initial_wait_s": 0, "max_wait_s": 0,
                         "retry_on": []}})
    """
)


def test_a_process_killed_mid_run_keeps_its_finished_batches(tmp_path):
    tests_dir = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    script = tmp_path / "killed.py"
    script.write_text(KILLED_RUN.format(tests=tests_dir))
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "cache")], check=False)
    assert done.returncode == -signal.SIGKILL
    resumed = FakeBackend()
    _, _, stats = translate_segments(
        SEGMENTS, resumed, TranslationCache(tmp_path / "cache"), BATCHING, RETRY
    )
    assert stats.cache_hits == 6
    assert sorted(resumed.segments_sent) == SEGMENTS[6:]


def test_a_bad_segment_costs_itself_not_its_batch(tmp_path):
    backend = JoiningBackend(joiner="number 4")
    translations, failures, stats = translate_segments(
        SEGMENTS, backend, TranslationCache(tmp_path), {**BATCHING, "batch_size": 10}, RETRY
    )
    # Split until the joining segment is last in its batch: then every segment translates.
    assert translations == {s: s.upper() for s in SEGMENTS}
    assert failures == {} and stats.batches_split >= 1


def test_a_segment_failing_alone_is_the_only_failure(tmp_path):
    class Poisoned(FakeBackend):
        def translate_batch(self, segments):
            if "Sentence number 7." in segments:
                raise TranslationFailure("garbage_body", "no translation in the answer")
            return super().translate_batch(segments)

    translations, failures, stats = translate_segments(
        SEGMENTS, Poisoned(), TranslationCache(tmp_path), {**BATCHING, "batch_size": 10}, RETRY
    )
    assert set(failures) == {"Sentence number 7."}
    assert len(translations) == len(SEGMENTS) - 1
    reason = failure_reason(failures["Sentence number 7."], RETRY)
    assert "alone" in reason and "not retried" in reason and "garbage_body" in reason
