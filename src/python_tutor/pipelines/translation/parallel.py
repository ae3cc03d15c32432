"""Map a pure function over rows on every core, for the CPU-bound parts of translation.

Finding code, reflowing and checking integrity are pure Python over independent rows; on an
18,000-row Kaggle set they cost seconds a core. A fork-based process pool splits them over the
cores; small inputs (or ``workers: 1``) stay in-process, where a pool would cost more than it
saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

MIN_ROWS_FOR_POOL = 2000  # below this, starting processes costs more than it saves


def resolve_workers(workers: int | None) -> int:
    """``None``: every core this process may use (``translation.workers`` is >= 1 or null)."""
    if workers is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return workers


def map_rows(func: Callable[[Any], Any], items: Sequence[Any], workers: int | None) -> list[Any]:
    """``[func(item) for item in items]``, in order, over ``workers`` processes when worth it."""
    count = resolve_workers(workers)
    if count == 1 or len(items) < MIN_ROWS_FOR_POOL or "fork" not in _methods():
        return [func(item) for item in items]
    chunk = max(1, len(items) // (count * 8))
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        return list(pool.map(func, items, chunksize=chunk))


def _methods() -> list[str]:
    return multiprocessing.get_all_start_methods()
