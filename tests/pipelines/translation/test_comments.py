"""Comment and docstring translation changes no other token, and the code still parses."""

from __future__ import annotations

import ast

import pytest

from python_tutor.pipelines.translation.comments import CodeComments, same_code_tokens
from python_tutor.pipelines.translation.protect import Protector

CODE = (
    'def area(radius):\n    """Return the area of a circle."""\n'
    "    # use math.pi for precision\n    return 3.14159 * radius ** 2  # square it\n"
)


@pytest.fixture
def comments(params) -> CodeComments:
    return CodeComments(Protector.from_params(params["protect"]))


def test_only_comment_and_docstring_text_is_planned(comments):
    plan = comments.plan(CODE, 1000)
    assert plan.segments == ["Return the area of a circle.", "use XQZ0X for precision", "square it"]


def test_translations_go_back_into_the_same_tokens(comments):
    plan = comments.plan(CODE, 1000)
    out = plan.apply({s: s.upper() for s in plan.segments})
    assert '"""RETURN THE AREA OF A CIRCLE."""' in out
    assert "# USE math.pi FOR PRECISION" in out
    assert "return 3.14159 * radius ** 2  # SQUARE IT" in out
    ast.parse(out)
    assert same_code_tokens(CODE, out)


def test_a_translation_that_would_break_the_code_keeps_the_original(comments):
    plan = comments.plan(CODE, 1000)
    translations = {s: s for s in plan.segments}
    translations["Return the area of a circle."] = 'Devuelve """el área'
    assert plan.apply(translations) == CODE


def test_unparsable_code_is_left_alone(comments):
    assert comments.plan("def broken(:\n    # comment\n", 1000) is None


def test_code_changes_are_not_the_same_tokens():
    assert not same_code_tokens("x = 1  # a", "x = 2  # a")
    assert same_code_tokens("x = 1  # a", "x = 1  # b")
