"""The tutor mode through real Apertium: programming senses, chosen before generation.

Each case is a sentence whose general-sense translation was wrong (the comment shows what the
installed eng-spa mode says); the tutor mode must pick the programming sense AND let Apertium
agree articles, adjectives and participles with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from python_tutor.pipelines.translation.backends import ApertiumBackend, build_backend


@pytest.fixture
def tutor(params, tutor_mode) -> ApertiumBackend:
    return build_backend(params["backend"], 1, placeholder=params["protect"]["placeholder"])


def translate(backend: ApertiumBackend, english: str) -> str:
    """The Spanish, unmarked, spaces collapsed (Apertium leaves two where it drops "it")."""
    text, _ = backend.strip_marks(backend.translate_batch([english])[0])
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        # plain: "Regreso el nombre de lima."
        ("Return the file name.", "Devuelve el nombre de archivo."),
        # plain: "La lima está cerrada." (feminine article and participle follow the noun)
        ("The file is closed.", "El archivo está cerrado."),
        # plain: "Las riñas son opcionales."
        ("The arguments are optional.", "Los argumentos son opcionales."),
        # plain: "El tono es nuevo."
        ("The key is new.", "La clave es nueva."),
        # plain: "Cria un error."
        ("It raises an error.", "Lanza un error."),
        # plain: "La función se apellida sin riñas."
        ("The function is called without arguments.", "La función se llama sin argumentos."),
        # plain: "Huella vuestra serie."
        ("Print your string.", "Imprime su cadena."),
        # plain: "Regresos un *tuple de *n independientes *iterators."
        (
            "Returns a tuple of n independent iterators.",
            "Devuelve una tupla de n iteradores independientes.",
        ),
        # plain: "Regresos el *default valor." (unknown word)
        ("Returns the default value.", "Devuelve el valor predeterminado."),
        # plain: "Obras como una lista." (works: artworks)
        ("Works like a list.", "Funciona como una lista."),
        # plain: "*Otherwise  Cria una excepción."
        ("Otherwise it raises an exception.", "De lo contrario lanza una excepción."),
    ],
)
def test_programming_senses_with_agreement(tutor, english, spanish):
    assert translate(tutor, english) == spanish


def test_the_plain_mode_still_picks_general_senses(params, apertium):
    """The "before" of the benchmark: the installed mode, untouched."""
    plain = ApertiumBackend(
        **{**params["backend"]["apertium"], "mode": "eng-spa", "modes_dir": None}
    )
    assert translate(plain, "The file is closed.") == "La lima está cerrada."


def test_a_noun_after_a_determiner_stays_a_noun(tutor):
    """The CG stage turns docstring openings into verbs, not every "returns"."""
    assert translate(tutor, "The returns are large.") == "Los retornos son grandes."


def test_the_tutor_mode_is_the_installed_pipeline_plus_two_stages(params, tutor_mode):
    """Derived from the installed mode: same programs in order, CG and lexical selection added."""
    root = Path(__file__).resolve().parents[3]
    tutor = root / params["backend"]["apertium"]["modes_dir"] / "modes/eng-spa-tutor.mode"
    installed = Path("/usr/share/apertium/modes/eng-spa.mode")
    if not installed.is_file():
        pytest.skip(f"{installed} not found (apertium-eng-spa installs it there)")

    def programs(mode: Path) -> list[str]:
        """Each stage's program and its option ("lt-proc -b"), files left out."""
        return [
            " ".join(w for w in stage.split()[:2] if not w.startswith("'"))
            for stage in mode.read_text().split("|")
        ]

    expected = programs(installed)
    expected.insert(1, "cg-proc")
    expected.insert(expected.index("lt-proc -b") + 1, "lrx-proc -m")
    assert programs(tutor) == expected
    compiled = str(tutor.parent.parent.resolve())
    for name in ("automorf", "autobil", "autogen"):
        assert f"'{compiled}/eng-spa.{name}.bin'" in tutor.read_text()
