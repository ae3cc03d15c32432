"""Intervals and paired tests against values worked out by hand or by other means."""

from __future__ import annotations

import math
from itertools import combinations

import pytest

from python_tutor.pipelines.evaluation.statistics import (
    BETTER,
    TIE,
    WORSE,
    bootstrap_interval,
    direction,
    mcnemar_exact,
    paired_bootstrap,
    pass_at_k,
    rate_interval,
)


def test_the_bootstrap_interval_holds_the_mean_and_is_reproducible():
    values = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1]
    first = bootstrap_interval(values, 0.95, 2000, 0)
    assert first == bootstrap_interval(values, 0.95, 2000, 0)
    assert first[0] < 0.7 < first[1]
    assert 0.3 < first[0] and first[1] <= 1.0


def test_constant_values_give_a_zero_width_interval_and_no_values_none():
    assert bootstrap_interval([1.0, 1.0, 1.0], 0.95, 100, 0) == (1.0, 1.0)
    assert bootstrap_interval([], 0.95, 100, 0) is None


def test_mcnemar_counts_discordant_pairs_and_matches_the_binomial_by_hand():
    first = [True] * 5 + [False] * 10 + [True] * 5
    second = [True] * 5 + [True] * 10 + [False] * 0 + [False] * 5
    test = mcnemar_exact(first, second)
    assert (test["first_only"], test["second_only"]) == (5, 10)
    # two-sided exact: 2 * P(X <= 5), X ~ Binomial(15, 1/2)
    by_hand = 2 * sum(math.comb(15, i) for i in range(6)) / 2**15
    assert test["p_value"] == pytest.approx(by_hand)
    assert direction(test, 0.05) == TIE  # 10 vs 5 wins is not enough


def test_a_clear_paired_difference_is_better_or_worse():
    first, second = [False] * 20, [True] * 16 + [False] * 4
    assert direction(mcnemar_exact(first, second), 0.05) == BETTER
    assert direction(mcnemar_exact(second, first), 0.05) == WORSE
    assert mcnemar_exact([True, False], [True, False])["p_value"] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        mcnemar_exact([True], [True, False])


def test_paired_bootstrap_sees_a_shift_the_unpaired_spread_would_hide():
    first = [float(v) for v in range(0, 100, 5)]
    second = [v + 3 + (i % 3) * 0.1 for i, v in enumerate(first)]
    test = paired_bootstrap(first, second, 0.95, 2000, 0)
    assert test["mean_difference"] == pytest.approx(3.1, abs=0.01)
    assert direction(test, 0.05) == BETTER
    noisy = paired_bootstrap([0.0, 10.0, 0.0, 10.0], [10.0, 0.0, 10.0, 0.0], 0.95, 2000, 0)
    assert direction(noisy, 0.05) == TIE


def test_pass_at_k_is_the_unbiased_estimator():
    # n = 5 samples, c = 2 correct: pass@2 = 1 - C(3, 2) / C(5, 2), by enumeration of pairs.
    pairs = list(combinations([1, 1, 0, 0, 0], 2))
    by_hand = sum(1 for pair in pairs if any(pair)) / len(pairs)
    assert pass_at_k([5], [2], 2) == pytest.approx(by_hand)
    assert pass_at_k([1, 1, 1], [1, 0, 1], 1) == pytest.approx(2 / 3)
    assert pass_at_k([1], [1], 2) is None  # one greedy sample says nothing of pass@2


def test_a_rate_where_every_item_agrees_gets_the_exact_interval_not_zero_width():
    low, high = rate_interval([False] * 3, 0.95, 100, 0)
    # Clopper-Pearson upper bound for 0 of 3: 1 - 0.025 ** (1 / 3)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 3))
    low, high = rate_interval([True] * 3, 0.95, 100, 0)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 3))
    assert rate_interval([True, False, True], 0.95, 1000, 0) == bootstrap_interval(
        [1.0, 0.0, 1.0], 0.95, 1000, 0
    )
    assert rate_interval([], 0.95, 100, 0) is None
