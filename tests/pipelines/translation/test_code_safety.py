"""A backend that translates Python words corrupts nothing that reaches the training data.

With protection on, code never reaches it; with protection blinded, the independent integrity
check must reject every row whose code it changed. Inputs are real shapes: an alpaca answer
that is a bare function, stdlib docstrings with doctests and constants, an assignment in prose.
"""

from __future__ import annotations

import decimal
import inspect

import pandas as pd
import pytest

from python_tutor.pipelines.translation import nodes, protect
from python_tutor.pipelines.translation.nodes import check_translations
from tests.test_find_code import ALPACA_OUTPUT

from .fakes import KeywordBackend
from .test_pipeline import run_translate

RESPONSES = {
    "alpaca": ALPACA_OUTPUT,
    "doctest": inspect.getdoc(decimal.Decimal.quantize),
    "context": inspect.cleandoc(decimal.Context.__doc__),
    "inline": "Set the mode first.\nctx.rounding = ROUND_UP\nThen print(ctx) for numbers.",
}
EXAMPLES = pd.DataFrame(
    [
        {
            "example_id": f"{i:016x}",
            "source": name,
            "task": "qa",
            "instruction": "What does this return for numbers?",
            "code": "",
            "response": text,
        }
        for i, (name, text) in enumerate(RESPONSES.items())
    ]
)


def run(params, monkeypatch, cache) -> tuple[pd.DataFrame, pd.DataFrame]:
    backend = KeywordBackend()
    monkeypatch.setattr(nodes, "build_backend", lambda *_, **__: backend)
    candidates, stats = run_translate(EXAMPLES, cache, params)
    kept, rejected, _, _ = check_translations(
        candidates, stats, params["protect"], params["quality"]
    )
    return kept, rejected


def test_with_protection_the_code_survives_a_code_translating_backend(
    params, monkeypatch, tmp_path
):
    from python_tutor.datasets.translation_cache import TranslationCache

    kept, rejected = run(params, monkeypatch, TranslationCache(tmp_path))
    assert rejected.empty, rejected["reason"].tolist()
    by_source = kept.set_index("source")["response_es"]
    assert by_source["alpaca"] == ALPACA_OUTPUT
    assert ">>> Decimal('1.41421356').quantize(Decimal('1.000'))" in by_source["doctest"]
    assert "rounding=ROUND_HALF_EVEN, capitals=1, clamp=1," in by_source["context"]
    assert "ctx.rounding = ROUND_UP" in by_source["inline"]
    assert "print(ctx)" in by_source["inline"]
    # ...while the prose around the code did go through the backend.
    assert "números" in by_source["inline"]


@pytest.mark.parametrize("source", ["alpaca", "doctest", "context", "inline"])
def test_blind_protection_gets_every_corrupted_row_rejected(source, params, monkeypatch, tmp_path):
    from python_tutor.datasets.translation_cache import TranslationCache

    monkeypatch.setattr(protect, "find_code", lambda text: [])
    blind = {**params, "protect": {**params["protect"], "identifier_patterns": []}}
    kept, rejected = run(blind, monkeypatch, TranslationCache(tmp_path))
    # Every row has code the backend rewrites once it can see it: none may be kept.
    assert source not in set(kept["source"])
    reasons = rejected.set_index("example_id")["reason_kind"]
    row = EXAMPLES.loc[EXAMPLES["source"] == source, "example_id"].item()
    assert reasons[row] == "code_integrity"
