"""The translation quality benchmark's core on a few reference rows, through real Apertium."""

from __future__ import annotations

import shutil

import pytest

from . import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("translation_quality")


def test_the_reference_set_is_real_and_large_enough(bench):
    rows = bench.load_reference()
    assert len(rows) >= 60
    assert len({row["id"] for row in rows}) == len(rows)
    assert sum("\n" in row["en"] for row in rows) >= 20  # hard-wrapped docstring paragraphs
    assert sum("``" in row["en"] for row in rows) >= 5  # inline code
    assert all("\n" not in row["es"] for row in rows)


def test_memory_cache_has_the_cache_interface(bench):
    cache = bench.MemoryCache()
    cache.put_many("b", [("one", "uno")])
    assert cache.get_many("b", ["one", "two"]) == {"one": "uno"}
    assert cache.get_many("other", ["one"]) == {}
    assert len(cache) == 1


def test_before_and_after_on_a_few_rows(bench):
    if shutil.which("apertium") is None:
        pytest.skip("apertium is not installed (make system-deps)")
    rows = [r for r in bench.load_reference() if r["id"] in {"ref008", "ref023", "ref062"}]
    result = bench.compare(rows, bench.load_params())
    before, after = result["before"], result["after"]
    assert before["wrong_terms"] >= 3  # Regresos, lima, riña
    assert after["wrong_terms"] == 0
    assert after["chrf_corpus"] > before["chrf_corpus"]
    assert after["spanish"]["ref062"].startswith("Devuelve un objeto")
    gain = result["difference"]
    assert gain["ci95_low"] <= gain["chrf_gain"] <= gain["ci95_high"]
    page = bench.report(rows, result, "python benchmarks/translation_quality.py", examples=1)
    assert "| wrong programming terms | " in page and "ref008" in page
