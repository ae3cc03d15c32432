"""Translate a set of segments: cache first, then batches on a bounded pool, with retries.

Each batch is written to the cache by its worker as soon as it is translated, so a run that
dies loses at most the batches still in flight. Retries use exponential backoff with full
jitter (tenacity's ``wait_random_exponential``); the sleep is injectable so tests run fast.
A batch that still fails is split in halves until the failing segment stands alone, so one
bad segment (Apertium once joined two lines of a batch) costs that segment, not its batch.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from .backends import Backend, TranslationFailure


@dataclass
class EngineStats:
    """What one run sent and got; the report shows it."""

    segments_unique: int = 0
    cache_hits: int = 0
    segments_translated: int = 0
    characters_sent: int = 0
    batches: int = 0
    batches_split: int = 0
    seconds: float = 0.0
    retries: Counter[str] = field(default_factory=Counter)
    failed_segments: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """Plain types for JSON; throughput counts segments the backend translated."""
        return {
            "segments_unique": self.segments_unique,
            "cache_hits": self.cache_hits,
            "segments_translated": self.segments_translated,
            "characters_sent": self.characters_sent,
            "batches": self.batches,
            "batches_split": self.batches_split,
            "seconds": round(self.seconds, 3),
            "segments_per_second": round(self.segments_translated / self.seconds, 1)
            if self.segments_translated and self.seconds
            else None,
            "retries_by_kind": dict(sorted(self.retries.items())),
            "failed_segments_by_kind": dict(sorted(self.failed_segments.items())),
        }


def make_batches(segments: list[str], batch_size: int, max_chars: int) -> list[list[str]]:
    """Group segments in order, at most ``batch_size`` each and ``max_chars`` joined by newlines."""
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for segment in segments:
        if current and (len(current) >= batch_size or size + 1 + len(segment) > max_chars):
            batches.append(current)
            current, size = [], 0
        current.append(segment)
        size += len(segment) + (1 if size else 0)
    if current:
        batches.append(current)
    return batches


def _retrying(retry: dict[str, Any], stats: EngineStats, sleep: Callable[[float], None]):
    """A tenacity controller for the ``translation.retry`` parameters."""
    import tenacity  # noqa: PLC0415

    retry_on = set(retry["retry_on"])

    def count(state: tenacity.RetryCallState) -> None:
        stats.retries[state.outcome.exception().kind] += 1

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(retry["max_attempts"]),
        wait=tenacity.wait_random_exponential(
            multiplier=retry["initial_wait_s"], max=retry["max_wait_s"]
        ),
        retry=tenacity.retry_if_exception(
            lambda err: isinstance(err, TranslationFailure) and err.kind in retry_on
        ),
        before_sleep=count,
        sleep=sleep,
        reraise=True,
    )


def failure_reason(error: TranslationFailure, retry: dict[str, Any]) -> str:
    """What really happened to a segment that failed alone, for the rejection reason."""
    if error.kind in retry["retry_on"]:
        return f"{error} (alone, after {retry['max_attempts']} attempts)"
    return f"{error} (alone; {error.kind} is not retried: translation.retry.retry_on)"


def translate_segments(  # noqa: PLR0913 - the run's collaborators, all explicit
    segments: Iterable[str],
    backend: Backend,
    cache: Any,
    batching: dict[str, Any],
    retry: dict[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, str], dict[str, TranslationFailure], EngineStats]:
    """Translate every distinct segment once: from the cache, else through the backend.

    Returns:
        translations (segment -> translation), failures (segment -> the failure it met when
        sent alone) and stats.
    """
    stats = EngineStats()
    unique = list(dict.fromkeys(segments))
    stats.segments_unique = len(unique)
    translations = cache.get_many(backend.cache_id, unique) if backend.cacheable else {}
    stats.cache_hits = len(translations)
    todo = [s for s in unique if s not in translations]
    batches = make_batches(
        todo,
        batching["batch_size"],
        min(batching["batch_max_chars"], backend.request_chars or batching["batch_max_chars"]),
    )
    stats.batches = len(batches)
    failures: dict[str, TranslationFailure] = {}
    retrying = _retrying(retry, stats, sleep)
    lock = threading.Lock()

    def run(batch: list[str]) -> tuple[list[tuple[str, str]], dict[str, TranslationFailure]]:
        # Written by the worker the moment the batch is back: a kill loses only batches in flight.
        # A copy per call: a tenacity controller keeps the state of the call it runs.
        try:
            result = retrying.copy()(backend.translate_batch, batch)
        except TranslationFailure as err:
            if len(batch) == 1:
                return [], {batch[0]: err}
            with lock:
                stats.batches_split += 1
            middle = len(batch) // 2
            left, right = run(batch[:middle]), run(batch[middle:])
            return left[0] + right[0], {**left[1], **right[1]}
        pairs = list(zip(batch, result, strict=True))
        if backend.cacheable:
            with lock:
                cache.put_many(backend.cache_id, pairs)
        return pairs, {}

    started = time.perf_counter()
    interrupted: BaseException | None = None
    with ThreadPoolExecutor(max_workers=batching["concurrency"]) as pool:
        futures = {pool.submit(run, batch): batch for batch in batches}
        progress = tqdm(
            as_completed(futures),
            total=len(futures),
            desc="translating",
            unit="batch",
            disable=None,
        )
        for future in progress:
            batch = futures[future]
            if future.cancelled():
                continue
            stats.characters_sent += sum(map(len, batch))
            try:
                pairs, failed = future.result()
            except BaseException as err:  # an interrupt or a bug: stop, keep what finished
                interrupted = interrupted or err
                for pending in futures:
                    pending.cancel()
                continue
            translations.update(pairs)
            failures.update(failed)
            stats.failed_segments.update(err.kind for err in failed.values())
            stats.segments_translated += len(pairs)
    if interrupted is not None:
        raise interrupted
    stats.seconds = time.perf_counter() - started
    return translations, failures, stats
