"""Wrong programming terms from the glossary, checked on real Apertium and human Spanish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from python_tutor.pipelines.translation.terminology import GLOSSARY, load_glossary, wrong_terms

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "tests/data/translation_reference.jsonl"


def test_plain_apertium_output_is_flagged_term_by_term():
    # What the installed eng-spa mode says for shutil.move's docstring (with -u).
    text = "Regreso la lima o el destino del directorio. La riña se apellida; cria un error."
    assert wrong_terms(text) == [
        "return (verb): Regreso",
        "file: lima",
        "argument: riña",
        "be called: apellida",
        "raise (an exception): cria",
    ]


def test_a_phrase_is_one_wrong_term_not_two():
    assert wrong_terms("El valor de regreso es una cadena.") == ["return value: valor de regreso"]


def test_human_references_have_no_wrong_terms():
    """A checker that flagged right Spanish would punish good translations."""
    rows = [json.loads(line) for line in REFERENCE.read_text(encoding="utf-8").splitlines()]
    assert {row["id"]: wrong_terms(row["es"]) for row in rows if wrong_terms(row["es"])} == {}


def test_whole_words_only_and_code_is_not_prose():
    assert wrong_terms("Hay que limar la seriedad del tonelaje.") == []
    assert wrong_terms("Use ``default=None`` o `tuple`:\n```\nserie = lima\n```") == []
    assert wrong_terms("El valor default de la serie.") == ["default: default", "string: serie"]


def test_the_glossary_holds_the_issue_terms():
    spanish = {term.en.split(" (")[0]: term.es for term in load_glossary()}
    for english, right in {
        "return": "devolver",
        "file": "archivo",
        "argument": "argumento",
        "raise": "lanzar",
        "string": "cadena",
        "be called": "llamarse",
        "print": "imprimir",
        "key": "clave",
    }.items():
        assert spanish[english].startswith(right)
    assert len(spanish) >= 40


def test_a_malformed_glossary_row_is_named(tmp_path):
    bad = tmp_path / "terms.yml"
    bad.write_text("- {en: file, es: archivo, wrong: [lima]}\n- {en: key, es: clave}\n")
    with pytest.raises(ValueError, match=r"terms.yml: row 2 needs en, es and wrong"):
        load_glossary(bad)


def test_an_unquoted_yaml_boolean_is_named(tmp_path):
    bad = tmp_path / "terms.yml"
    bad.write_text("- {en: true, es: verdadero, wrong: []}\n")
    with pytest.raises(ValueError, match=r"row 1 \(True\): en and es must be text"):
        load_glossary(bad)


def test_the_default_glossary_is_the_package_file():
    assert GLOSSARY.name == "terminology.yml" and GLOSSARY.is_file()
