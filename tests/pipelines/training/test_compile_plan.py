"""compile_layers: auto compiles only when the planned tokens repay the compiling."""

from __future__ import annotations

import pytest

from python_tutor.pipelines.training.compile_plan import (
    cache_is_warm,
    decide_compile,
    planned_tokens,
)

# the H200 figures of conf/base: 110 s to compile, 21k -> 51.7k real tokens/s
BREAK_EVEN = {
    "compile_seconds": 110,
    "cached_compile_seconds": 15,
    "compiled_tokens_per_second": 51700,
    "eager_tokens_per_second": 21000,
}
# 110 s / (1/21000 - 1/51700) s per token, worked out by hand: 3,890,130 tokens
COLD_BREAK_EVEN = 3_890_130


@pytest.mark.parametrize(
    ("tokens", "expected"), [(COLD_BREAK_EVEN - 1000, False), (COLD_BREAK_EVEN + 1000, True)]
)
def test_auto_compiles_past_the_break_even(tokens, expected, tmp_path):
    decision = decide_compile("auto", tokens=tokens, break_even=BREAK_EVEN, cache_dir=tmp_path)
    assert decision.compile is expected
    assert decision.break_even_tokens == pytest.approx(COLD_BREAK_EVEN, abs=1)
    assert decision.compile_seconds == 110 and not decision.cache_warm
    assert "compile_seconds" in decision.reason


def test_a_warm_cache_lowers_the_break_even(tmp_path):
    (tmp_path / "fxgraph" / "ab").mkdir(parents=True)
    assert cache_is_warm(tmp_path)
    decision = decide_compile("auto", tokens=1_000_000, break_even=BREAK_EVEN, cache_dir=tmp_path)
    assert decision.compile and decision.cache_warm and decision.compile_seconds == 15
    assert decision.break_even_tokens == pytest.approx(COLD_BREAK_EVEN * 15 / 110)


def test_an_empty_cache_folder_is_cold(tmp_path):
    (tmp_path / "fxgraph").mkdir()
    assert not cache_is_warm(tmp_path)
    assert not cache_is_warm(None)


@pytest.mark.parametrize("setting", [True, False])
def test_true_and_false_are_obeyed(setting):
    decision = decide_compile(setting, tokens=10**9, break_even=None, cache_dir=None)
    assert decision.compile is setting and decision.break_even_tokens is None


@pytest.mark.parametrize(
    ("setting", "break_even", "message"),
    [
        ("yes", BREAK_EVEN, "compile_layers: 'yes'"),
        (1, BREAK_EVEN, "compile_layers: 1"),
        ("auto", None, "compile_break_even.compile_seconds"),
        ("auto", {**BREAK_EVEN, "eager_tokens_per_second": None}, "eager_tokens_per_second"),
        ("auto", {**BREAK_EVEN, "eager_tokens_per_second": 60000}, "must exceed"),
    ],
)
def test_bad_settings_are_refused_by_key(setting, break_even, message):
    with pytest.raises(ValueError, match=message):
        decide_compile(setting, tokens=1, break_even=break_even, cache_dir=None)


def test_planned_tokens_follow_epochs_and_max_steps():
    lengths = [100] * 20  # 2,000 tokens an epoch; 8 a step: 3 steps an epoch
    assert planned_tokens(lengths, conversations_per_step=8, epochs=2, max_steps=-1) == 4000
    assert planned_tokens(lengths, conversations_per_step=8, epochs=1, max_steps=1) == 667
    two = planned_tokens(lengths, conversations_per_step=4, epochs=1, max_steps=-1, processes=2)
    assert two == 1000  # each of two processes trains half
    assert planned_tokens([], conversations_per_step=8, epochs=1, max_steps=-1) == 0
