"""Translation nodes and the pipeline slice over an in-memory catalog."""

from __future__ import annotations

import ast

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from python_tutor.datasets.credentials import Secrets
from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.pipelines.translation import create_pipeline
from python_tutor.pipelines.translation.nodes import check_translations, translate_examples

CODE = 'def add(a, b):\n    """Return the sum of both numbers."""\n    return a + b  # add them'
EXAMPLES = pd.DataFrame(
    [
        {
            "example_id": "0123456789abcdef",
            "source": "s",
            "task": "fix",
            "instruction": "Fix this Python function so that it adds the numbers.",
            "code": CODE,
            "response": "The function `add` must return the sum of both numbers.\n\n"
            "```python\ndef add(a, b):\n    # add both numbers\n    return a + b\n```",
        },
        {
            "example_id": "fedcba9876543210",
            "source": "s",
            "task": "qa",
            "instruction": "What is a list comprehension and when should I use one?",
            "code": "",
            "response": "A list comprehension builds a new list from an iterable in one "
            "expression, such as `[x * 2 for x in items]`.",
        },
    ]
)


@pytest.fixture
def cache(tmp_path) -> TranslationCache:
    return TranslationCache(tmp_path / "cache")


def run_translate(examples, cache, params, comments=False):
    return translate_examples(
        examples,
        cache,
        params["backend"],
        params["batching"],
        params["retry"],
        params["protect"],
        params["segment"],
        comments,
    )


@pytest.mark.usefixtures("apertium")
class TestTranslateExamples:
    def test_prose_is_spanish_and_code_is_byte_identical(self, cache, params):
        candidates, stats = run_translate(EXAMPLES, cache, params)
        first = candidates.iloc[0]
        assert first.code == CODE and first.code_es == CODE
        assert (
            "```python\ndef add(a, b):\n    # add both numbers\n    return a + b\n```"
            in first.response_es
        )
        assert "`add`" in first.response_es and "Python" in first.instruction_es
        assert "función" in first.instruction_es
        assert candidates["failure_kind"].isna().all()
        assert stats["segments_translated"] == stats["segments_unique"] > 0

    def test_a_second_run_is_served_from_the_cache(self, cache, params):
        run_translate(EXAMPLES, cache, params)
        again, stats = run_translate(EXAMPLES, cache, params)
        assert stats["segments_translated"] == 0
        assert stats["cache_hits"] == stats["segments_unique"]
        assert again["response_es"].notna().all()

    def test_comments_and_docstrings_translate_into_code_es_only(self, cache, params):
        candidates, _ = run_translate(EXAMPLES, cache, params, comments=True)
        first = candidates.iloc[0]
        assert first.code == CODE
        assert first.code_es != CODE and "suma" in first.code_es
        ast.parse(first.code_es)
        assert "def add(a, b):" in first.code_es and "return a + b  # " in first.code_es
        # Code inside the prose is never translated in place, comments included.
        assert "```python\ndef add(a, b):\n    # add both numbers\n" in first.response_es

    def test_a_backend_failure_becomes_the_rows_failure(self, cache, params):
        broken = {
            **params["backend"],
            "apertium": {**params["backend"]["apertium"], "executable": "false"},
        }
        candidates, stats = translate_examples(
            EXAMPLES,
            cache,
            broken,
            params["batching"],
            {**params["retry"], "max_attempts": 1},
            params["protect"],
            params["segment"],
            False,
        )
        assert set(candidates["failure_kind"]) == {"translation_failed:backend_error"}
        assert stats["failed_segments_by_kind"]["backend_error"] > 0


def candidates_frame(**overrides) -> pd.DataFrame:
    row = {
        "example_id": "0123456789abcdef",
        "source": "s",
        "task": "qa",
        "language": "en",
        "code": "",
        "code_es": "",
        "instruction_en": "What does the `len()` function return for a list?",
        "instruction_es": "¿Qué devuelve la función `len()` para una lista de números?",
        "response_en": "It returns the number of items in the list, for example `len([1, 2])`.",
        "response_es": "Devuelve el número de elementos de la lista, por ejemplo `len([1, 2])`.",
        "failure_kind": None,
        "failure_reason": None,
        **overrides,
    }
    return pd.DataFrame([row])


class TestCheckTranslations:
    def test_spanish_rows_are_kept_with_their_language(self, params):
        kept, rejected, report, _ = check_translations(
            candidates_frame(), {"backend": "x"}, params["protect"], params["quality"]
        )
        assert rejected.empty and len(kept) == 1
        assert kept.iloc[0].response_es_language == "es"
        assert kept.iloc[0]["quality_flags"] == []
        assert report["examples_in"] == report["kept"] + report["rejected"] == 1

    def test_english_left_in_is_flagged_or_rejected(self, params):
        english = candidates_frame(
            response_es="It returns the number of items in the list, for example `len([1, 2])`."
        )
        kept, _, report, _ = check_translations(english, {}, params["protect"], params["quality"])
        assert kept.iloc[0]["quality_flags"] == ["response_not_es"]
        assert report["flagged"] == 1
        quality = {**params["quality"], "on_bad_translation": "reject"}
        kept, rejected, report, _ = check_translations(english, {}, params["protect"], quality)
        assert kept.empty
        assert rejected.iloc[0].reason_kind == "not_target_language"
        assert "response_not_es" in rejected.iloc[0].reason
        assert report["rejected_by_reason"] == {"not_target_language": 1}

    def test_changed_inline_code_is_rejected(self, params):
        broken = candidates_frame(response_es="Devuelve el número de elementos, `longitud([1])`.")
        kept, rejected, _, _ = check_translations(broken, {}, params["protect"], params["quality"])
        assert kept.empty and rejected.iloc[0].reason_kind == "code_integrity"
        assert "field 'response'" in rejected.iloc[0].reason

    def test_failed_translation_is_rejected_with_its_reason(self, params):
        failed = candidates_frame(
            instruction_es=None,
            response_es=None,
            failure_kind="translation_failed:timeout",
            failure_reason="example x: backend failed (timeout)",
        )
        _, rejected, report, _ = check_translations(
            failed, {}, params["protect"], params["quality"]
        )
        assert rejected.iloc[0].reason_kind == "translation_failed:timeout"
        assert report["rejected_by_reason"] == {"translation_failed:timeout": 1}


@pytest.mark.usefixtures("apertium")
def test_pipeline_slice_runs_over_an_in_memory_catalog(cache, params):
    catalog = DataCatalog(
        {
            "examples": MemoryDataset(EXAMPLES),
            "translation_cache": MemoryDataset(cache, copy_mode="assign"),
            "translation_credentials": MemoryDataset(Secrets()),
            **{f"params:translation.{k}": MemoryDataset(v) for k, v in params.items()},
        }
    )
    # The examples' two nodes; HumanEval-ES has its own tests (test_humaneval.py).
    examples = create_pipeline().only_nodes("translate_examples_node", "check_translations_node")
    SequentialRunner().run(examples, catalog)
    translated = catalog.load("translated_examples")
    report = catalog.load("translation_report")
    assert list(translated["example_id"]) == list(EXAMPLES["example_id"])
    assert (translated["code"] == EXAMPLES["code"]).all()
    assert (translated["instruction_en"] == EXAMPLES["instruction"]).all()
    assert report["examples_in"] == 2 == report["kept"] + report["rejected"]
    assert report["engine"]["backend"].startswith("apertium-marked:eng-spa-tutor:")
    # Every sentence translated, and the language of every prose field, is kept.
    prose_fields = 2 * len(EXAMPLES)
    assert len(cache) == report["engine"]["segments_translated"] + prose_fields
    SequentialRunner().run(examples, catalog)
    assert len(cache) == report["engine"]["segments_translated"] + prose_fields


def test_a_web_backend_runs_through_the_node(cache, params, google_stub):
    web = {
        **params["backend"],
        "name": "google",
        "web": {
            **params["backend"]["web"],
            "base_url": google_stub.url,
            "requests_per_second": None,
        },
    }
    candidates, stats = translate_examples(
        EXAMPLES,
        cache,
        web,
        params["batching"],
        params["retry"],
        params["protect"],
        params["segment"],
        False,
    )
    assert stats["backend"] == "google:en-es"
    assert candidates["failure_kind"].isna().all()
    assert candidates.iloc[1].response_es.startswith("es:A list comprehension")
    assert "`[x * 2 for x in items]`" in candidates.iloc[1].response_es
    assert all("`" not in q and "def add" not in q for q in google_stub.queries)


def test_no_examples_give_empty_outputs_that_add_up(cache, params):
    candidates, stats = run_translate(EXAMPLES.iloc[0:0], cache, params)
    kept, rejected, report, _ = check_translations(
        candidates, stats, params["protect"], params["quality"]
    )
    assert kept.empty and rejected.empty
    assert report["examples_in"] == report["kept"] == report["rejected"] == 0


def test_spanish_sources_pass_through_untranslated(cache, params):
    spanish = EXAMPLES.assign(
        language=["es", "en"],
        instruction=["Corrige esta función de Python.", EXAMPLES["instruction"][1]],
    )
    backend = {**params["backend"], "name": "google", "web": {**params["backend"]["web"]}}
    candidates, stats = translate_examples(
        spanish.iloc[:1],
        cache,
        backend,
        params["batching"],
        params["retry"],
        params["protect"],
        params["segment"],
        False,
    )
    row = candidates.iloc[0]
    assert row.instruction_es == "Corrige esta función de Python." and row.language == "es"
    assert row.response_es == spanish["response"][0]
    assert stats["segments_unique"] == 0  # nothing was sent, not even to the web backend
    kept, rejected, report, _ = check_translations(
        candidates, stats, params["protect"], params["quality"]
    )
    assert rejected.empty and report["passed_through"] == 1
