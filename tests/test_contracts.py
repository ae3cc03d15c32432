"""The record contracts: what each rule refuses, and how the refusal names the record."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.contracts import CONVERSATIONS, EXAMPLES, TRANSLATED_EXAMPLES, validate
from python_tutor.pipelines.translation.nodes import _kept_columns

SYSTEM = "Eres un tutor de Python paciente y claro. Respondes siempre en español."


def conversation(example_id: str, answer: str = "Devuelve el número de elementos.") -> dict:
    """A row as formatting writes it (ids are content hashes, answers Spanish prose)."""
    return {
        "example_id": example_id,
        "task": "qa",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "¿Qué devuelve `len([1, 2])`?"},
            {"role": "assistant", "content": answer},
        ],
    }


def example(example_id: str, **overrides) -> dict:
    """An ingested row: a CodeSearchNet-like function with its docstring as the answer."""
    return {
        "example_id": example_id,
        "source": "codesearchnet_python",
        "language": "en",
        "task": "explain",
        "instruction": "Explain what this Python function does.",
        "code": "def area(r):\n    return 3.14159 * r ** 2\n",
        "response": "Return the area of a circle of radius ``r``.",
        **overrides,
    }


def test_a_clean_conversation_table_passes_unchanged():
    frame = pd.DataFrame([conversation("1d2185417e1303f2"), conversation("8a0c5f6e2b9d4471")])
    assert validate(frame, CONVERSATIONS, "tutor_test").equals(frame)


def test_the_first_bad_row_is_named_by_position_id_column_and_rule():
    rows = [conversation("1d2185417e1303f2"), conversation("8a0c5f6e2b9d4471", answer="  ")]
    rows.append({**conversation("c3b1f0e9d8a7b6c5"), "task": "translate"})
    frame = pd.DataFrame(rows, index=[40, 7, 12])  # a slice keeps its labels; rows count from 1
    with pytest.raises(ValueError) as error:
        validate(frame, CONVERSATIONS, "tutor_val")
    assert str(error.value).startswith(
        "`tutor_val` row 2 (example_id 8a0c5f6e2b9d4471) column `messages`: "
        "every turn needs text content; got [{'role': 'system'"
    )


def test_a_duplicate_id_is_refused_where_it_repeats():
    frame = pd.DataFrame([conversation("1d2185417e1303f2"), conversation("1d2185417e1303f2")])
    with pytest.raises(ValueError, match=r"row 1 \(example_id 1d2185417e1303f2\) column `exa"):
        validate(frame, CONVERSATIONS, "tutor_train")


def test_a_reader_checks_only_the_columns_it_reads_and_converts_nothing():
    frame = pd.DataFrame([{**conversation("1d2185417e1303f2"), "n_tokens": 96}])
    with pytest.raises(ValueError, match=r"contract does not know: \['n_tokens'\]"):
        validate(frame, CONVERSATIONS, "tutor_train")
    assert validate(frame, CONVERSATIONS, "tutor_train", columns=["messages"]) is not None
    with pytest.raises(ValueError, match=r"`tutor_train` lacks column\(s\) \['messages'\]"):
        validate(frame.drop(columns="messages"), CONVERSATIONS, "tutor_train", ["messages"])


def test_the_writer_coerces_and_the_reader_refuses_the_same_non_text_cell():
    frame = pd.DataFrame([example("0123456789abcdef"), example("fedcba9876543210", code=7)])
    assert validate(frame, EXAMPLES, "examples")["code"].tolist()[1] == "7"
    with pytest.raises(ValueError, match=r"`examples` row 2 \(example_id fed.*`code`: expected"):
        validate(frame, EXAMPLES, "examples", columns=["example_id", "code"])


def test_an_empty_table_only_needs_its_columns():
    empty = pd.DataFrame(columns=["example_id", "task", "messages"])
    assert validate(empty, CONVERSATIONS, "tutor_test").empty


def test_the_translated_contract_lists_exactly_what_translation_writes():
    assert sorted(TRANSLATED_EXAMPLES.columns) == sorted(_kept_columns())


def test_translated_signals_may_be_empty_but_not_of_another_kind():
    row = {column: None for column in TRANSLATED_EXAMPLES.columns}
    row |= {"example_id": "0123456789abcdef", "source": "s", "task": "qa", "language": "es"}
    frame = pd.DataFrame([row])  # a Spanish source passes through: no signals at all
    validate(frame, TRANSLATED_EXAMPLES, "translated_examples")
    frame.loc[0, "quality_flags"] = "response_not_es"
    with pytest.raises(ValueError, match=r"row 1 .*column `quality_flags`: a list or empty"):
        validate(frame, TRANSLATED_EXAMPLES, "translated_examples")


def test_a_reader_may_ask_for_the_types_only():
    frame = pd.DataFrame([example("ref008", task="docstring", instruction="")])
    with pytest.raises(ValueError, match=r"row 1 \(example_id ref008\) column `example_id`"):
        validate(frame, EXAMPLES, "examples", columns=["example_id", "task", "instruction"])
    validate(frame, EXAMPLES, "examples", columns=["example_id", "task"], rules=False)
    with pytest.raises(ValueError, match=r"column `task`: expected"):
        validate(frame.assign(task=3), EXAMPLES, "examples", columns=["task"], rules=False)
