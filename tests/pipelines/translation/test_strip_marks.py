"""Apertium's unknown-word marks: kept in the translation (and cache), removed by strip_marks.

Apertium prefixes ``*`` (unknown to the analyser), ``@`` (no bilingual entry) and ``#`` (cannot
generate) to words; the same characters are also the text's own (Markdown emphasis,
decorators, C#, e-mail addresses). Outputs here are real Apertium output.
"""

from __future__ import annotations

import pytest

from python_tutor.pipelines.translation.backends import ApertiumBackend, TranslationFailure

from .test_backends import fake_apertium


@pytest.fixture
def plain(params, apertium) -> ApertiumBackend:
    settings = {**params["backend"]["apertium"], "mode": "eng-spa", "modes_dir": None}
    return ApertiumBackend(**settings, placeholder=params["protect"]["placeholder"])


def strip(backend: ApertiumBackend, english: list[str]) -> list[tuple[str, int]]:
    return [backend.strip_marks(line) for line in backend.translate_batch(english)]


def test_unknown_words_are_counted_and_unmarked(plain):
    assert strip(plain, ["The frobnicator quuxes the file."]) == [
        ("El frobnicator quuxes la lima.", 2)
    ]


def test_markdown_emphasis_is_not_a_mark(plain):
    # Apertium: "Si *escrito* es Cierto." and "Si **maxsize* ..." (one literal, one mark).
    assert strip(plain, ["If *typed* is True.", "If *maxsize* is set, **frobnicate** it."]) == [
        ("Si *escrito* es Cierto.", 0),
        ("Si *maxsize* está puesto, **frobnicate** lo.", 2),
    ]


def test_placeholders_come_back_intact_and_uncounted(params, plain):
    out = plain.translate_batch(["Call XQZ3X with XQZ0X and XQZ12X now."])
    assert plain.strip_marks(out[0]) == ("Llamada XQZ3X con XQZ0X y XQZ12X ahora.", 0)
    unaware = ApertiumBackend(
        **{**params["backend"]["apertium"], "mode": "eng-spa", "modes_dir": None}
    )
    assert unaware.strip_marks(out[0]) == ("Llamada XQZ3X con XQZ0X y XQZ12X ahora.", 3)


def test_a_generation_mark_is_removed(plain):
    # Apertium: "La #periodo es aquí." (the bilingual entry's gender does not generate)
    assert strip(plain, ["The length is here."]) == [("La periodo es aquí.", 1)]


def test_literal_hash_and_at_signs_survive(plain):
    # Apertium moves the "@" of "@property" (it is punctuation to it) but keeps it.
    assert strip(plain, ["Write C# or use @property, mail me@example.com."]) == [
        ("Escribe C# o hacienda @de uso, correo me@example.com.", 0)
    ]


def test_stripping_twice_changes_nothing(plain):
    text, count = strip(plain, ["If *maxsize* is set."])[0]
    assert count == 1
    assert plain.strip_marks(text) == (text, 0)


def test_an_unknown_to_the_bilingual_dictionary_mark_is_removed(tmp_path, params):
    """``@`` marks are rare with eng-spa's complete dictionary: a scripted Apertium makes one."""
    backend = fake_apertium(tmp_path, params, "echo 'Un @fooword y un *bar.'")
    assert backend.strip_marks(backend.translate_batch(["A fooword and a bar."])[0]) == (
        "Un fooword y un bar.",
        2,
    )


def test_private_use_characters_in_the_input_are_refused(tmp_path, params):
    backend = fake_apertium(tmp_path, params, "cat")
    with pytest.raises(TranslationFailure, match="private-use") as failure:
        backend.translate_batch(["x \ue010y"])
    assert failure.value.kind == "backend_error"
