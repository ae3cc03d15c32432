"""The one language identifier: Spanish and English told apart, code ignored, the cache used."""

from __future__ import annotations

import pytest

from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.find_code import split_markdown
from python_tutor.language import LanguageIdentifier

SPANISH = "La función devuelve el nombre del archivo que se abrió con el modo indicado."
ENGLISH = "The function returns the name of the file that was opened with the given mode."
KEY = "parameters_evaluation.yml: evaluation.scoring.languages"


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier(["es", "en", "pt"], KEY)


def test_spanish_and_english_prose_are_told_apart(identifier):
    assert identifier.languages_of([SPANISH, ENGLISH], 10) == ["es", "en"]


def test_code_does_not_make_an_english_answer_spanish(identifier):
    answer = "Use this helper to add numbers.\n\n```python\nnumeros = suma(uno, dos)\n```"
    assert identifier.languages_of([split_markdown(answer, ["python"]).prose], 10) == ["en"]


def test_too_little_prose_has_no_language(identifier):
    assert identifier.languages_of(["Sí.", SPANISH], 10) == [None, "es"]


def test_unknown_language_codes_name_the_parameter():
    with pytest.raises(ValueError, match=r"evaluation\.scoring\.languages \['es', 'xx'\]"):
        LanguageIdentifier(["es", "xx"], KEY)
    with pytest.raises(ValueError, match="at least two"):
        LanguageIdentifier(["es"], KEY)


def test_a_second_run_reads_languages_from_the_cache(tmp_path, identifier):
    cache = TranslationCache(tmp_path)
    first = identifier.identify_many([SPANISH, ENGLISH], cache)
    assert [language for language, _ in first] == ["es", "en"]

    class Broken:
        def compute_language_confidence_values_in_parallel(self, texts):
            assert texts == [], f"re-identified {texts}"
            return []

    cached = LanguageIdentifier(["es", "en", "pt"], KEY)
    cached._detector = Broken()
    assert cached.identify_many([ENGLISH, SPANISH], cache) == [first[1], first[0]]
