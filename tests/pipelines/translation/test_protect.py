"""Protected spans never reach a backend and come back byte for byte, even through Apertium."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from python_tutor.pipelines.translation.protect import IntegrityError, Protector

TEXT = (
    "Use `print()`, which returns None; `os.path.join` and max_len matter.\n\n"
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
    "ZeroDivisionError: division by zero\n\n"
    "The __init__ method of OrderedDict calls str.split() and len()."
)


@pytest.fixture
def protector(params) -> Protector:
    return Protector.from_params(params["protect"])


def test_every_kind_of_code_is_hidden(protector):
    masked, spans = protector.protect(TEXT)
    for code in (
        "`print()`",
        "`os.path.join`",
        "max_len",
        "None",
        "__init__",
        "OrderedDict",
        "str.split()",
        "len()",
    ):
        assert code in spans
        assert code not in masked
    assert any(s.startswith("```python\ndef add(a, b):") for s in spans)
    assert any(s.startswith("Traceback") and s.endswith("division by zero") for s in spans)
    assert "def " not in masked and "Traceback" not in masked
    assert protector.restore(masked, spans) == TEXT


def test_placeholders_survive_apertium_and_restore_exactly(protector):
    if shutil.which("apertium") is None:
        pytest.skip("apertium is not installed (make system-deps)")
    masked, spans = protector.protect(TEXT)
    out = subprocess.run(
        ["apertium", "-u", "eng-spa"], input=masked, capture_output=True, text=True, check=True
    ).stdout
    restored = protector.restore(out, spans)
    for span in spans:
        assert span in restored
    assert "Ninguno" not in restored and "añadir" not in restored


def test_restore_refuses_a_lost_or_repeated_placeholder(protector):
    masked, spans = protector.protect("Call `f()` then `g()`.")
    with pytest.raises(IntegrityError, match=r"missing \[1\]"):
        protector.restore(masked.replace("XQZ1X", ""), spans)
    with pytest.raises(IntegrityError, match=r"repeated \[0\]"):
        protector.restore(masked + " XQZ0X", spans)


def test_text_that_already_holds_a_placeholder_is_refused(protector):
    with pytest.raises(ValueError, match="already contains a placeholder"):
        protector.protect("see XQZ3X")


def test_glossary_terms_are_whole_words(protector):
    masked, spans = protector.protect("Nonetheless it returns None.")
    assert spans == ["None"]
    assert masked.startswith("Nonetheless")


def test_names_the_tutor_mode_knows_reach_it_other_camel_case_does_not(protector):
    """NumPy, GitHub, PyTorch are names in tutor.eng.dix; DataFrame is an identifier."""
    masked, spans = protector.protect("A NumPy array, a DataFrame and PyTorch on GitHub.")
    assert spans == ["DataFrame"]
    assert "NumPy" in masked and "PyTorch" in masked and "GitHub" in masked
