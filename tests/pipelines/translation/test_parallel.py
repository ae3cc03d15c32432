"""Rows planned on several processes come back the same, in order, as planned in one."""

from __future__ import annotations

from python_tutor.pipelines.translation import parallel
from python_tutor.pipelines.translation.parallel import map_rows, resolve_workers


def square_with_pid(value: int) -> tuple[int, int]:
    import os

    return value * value, os.getpid()


def test_a_pool_gives_the_in_process_answer_in_order(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ROWS_FOR_POOL", 10)
    items = list(range(200))
    pooled = map_rows(square_with_pid, items, workers=2)
    assert [value for value, _ in pooled] == [i * i for i in items]
    import os

    assert {pid for _, pid in pooled} != {os.getpid()}  # really other processes


def test_small_inputs_and_one_worker_stay_in_process():
    import os

    assert {pid for _, pid in map_rows(square_with_pid, list(range(5)), None)} == {os.getpid()}
    many = list(range(parallel.MIN_ROWS_FOR_POOL))
    assert {pid for _, pid in map_rows(square_with_pid, many, 1)} == {os.getpid()}


def test_workers_null_means_every_core_this_process_may_use():
    assert resolve_workers(None) >= 1 and resolve_workers(3) == 3
