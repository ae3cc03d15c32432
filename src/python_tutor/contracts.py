"""Record contracts between stages: one pandera schema per dataset one stage writes, another reads.

The writing stage validates every column it saves; a reading stage validates the columns it
reads (``columns=``), so it states its needs without forcing older versions or test fixtures
to carry columns it never looks at. A broken record is a ``ValueError`` naming the dataset,
the row (counted from 1, the JSONL line), its ``example_id`` when there is one, the column and
the rule it breaks: a fix starts from the message, not from a pandera traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pandera.pandas as pa

TASKS = ("explain", "fix", "generate", "qa")
LANGUAGES = ("en", "es")  # of an example's prose; "es" passes through translation untouched
ROLES = ("system", "user", "assistant")
PROSE_FIELDS = ("instruction", "response")


def _optional(kind: type | tuple[type, ...], name: str) -> pa.Column:
    """A column that must exist but may be empty (None/NaN) in a row, else of Python ``kind``.

    Typed by value, not dtype: a column empty in every row loads as float NaN or object None.
    """
    check = pa.Check(lambda value: isinstance(value, kind), element_wise=True, error=name)
    return pa.Column(checks=check, nullable=True)


def _optional_text() -> pa.Column:
    return _optional(str, "text or empty")


def _optional_number() -> pa.Column:
    return _optional((int, float), "a number or empty")


def _optional_list() -> pa.Column:
    return _optional(list, "a list or empty")


# `examples`: ingestion writes it, translation reads it.
EXAMPLES = pa.DataFrameSchema(
    {
        "example_id": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{16}$"), unique=True),
        "source": pa.Column(str, pa.Check.str_length(min_value=1)),
        "language": pa.Column(str, pa.Check.isin(LANGUAGES)),
        "task": pa.Column(str, pa.Check.isin(TASKS)),
        "instruction": pa.Column(str, pa.Check.str_length(min_value=1)),
        "code": pa.Column(str),  # may be empty; indentation kept byte for byte
        "response": pa.Column(str, pa.Check.str_length(min_value=1)),
    },
    name="examples",
    strict=True,
    coerce=True,
)

# `translated_examples`: translation writes it, formatting reads it. Prose may come back empty
# and the task unknown: formatting rejects such rows one by one, with their reason.
_SIGNALS: dict[str, pa.Column] = {}
for _field in PROSE_FIELDS:
    _SIGNALS |= {
        f"{_field}_es_language": _optional_text(),  # lingua's answer; None under min_chars
        f"{_field}_language_confidence": _optional_number(),
        f"{_field}_length_ratio": _optional_number(),
        f"{_field}_unknown_words": _optional_number(),  # Apertium's (None for other backends)
        f"{_field}_unknown_word_ratio": _optional_number(),
        f"{_field}_placeholders_altered": _optional_number(),
        f"{_field}_wrong_terms": _optional_list(),  # programming terms in a wrong sense
        f"{_field}_back_translation_chrf": _optional_number(),  # LLM/web backends only
    }
TRANSLATED_EXAMPLES = pa.DataFrameSchema(
    {
        "example_id": pa.Column(str, unique=True),
        "source": pa.Column(str),
        "task": pa.Column(str),
        "language": pa.Column(str, pa.Check.isin(LANGUAGES)),
        "code": _optional_text(),
        "code_es": _optional_text(),  # comments translated when asked, else `code`
        **{f"{f}_{lang}": _optional_text() for f in PROSE_FIELDS for lang in ("en", "es")},
        **_SIGNALS,
        "quality_flags": _optional_list(),  # flag names; formatting skips flagged rows
    },
    name="translated_examples",
    strict=True,
)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _turns(value: Any) -> list[Mapping[str, Any]]:
    """The turns of a ``messages`` cell that are mappings (the other rules judge the rest)."""
    return [turn for turn in _list(value) if isinstance(turn, Mapping)]


def _two_turns_or_more(value: Any) -> bool:
    return len(_list(value)) >= 2  # noqa: PLR2004 - a user turn and the answer


def _roles_known(value: Any) -> bool:
    return all(isinstance(t, Mapping) and t.get("role") in ROLES for t in _list(value))


def _contents_text(value: Any) -> bool:
    return all(isinstance(t.get("content"), str) and t["content"].strip() for t in _turns(value))


def _ends_with_answer(value: Any) -> bool:
    turns = _turns(value)
    return not turns or turns[-1].get("role") == "assistant"


def _user_before_answer(value: Any) -> bool:
    turns = _turns(value)
    return not turns or any(turn.get("role") == "user" for turn in turns[:-1])


# Each rule judges one thing, so the message names what is wrong; order = order of reporting.
MESSAGE_RULES = (
    (_two_turns_or_more, "expected a list of at least a user and an assistant turn"),
    (_roles_known, f"every turn needs a role in {ROLES}"),
    (_contents_text, "every turn needs text content"),
    (_ends_with_answer, "the last turn must be the assistant's answer"),
    (_user_before_answer, "no user turn before the answer"),
)

# `tutor_train|val|test`: formatting writes them; training, export and evaluation read them.
# One conversation a row, in the `messages` format TRL's SFTTrainer and Unsloth read.
CONVERSATIONS = pa.DataFrameSchema(
    {
        "example_id": pa.Column(str, unique=True),
        "task": pa.Column(str, pa.Check.isin(TASKS)),
        "messages": pa.Column(
            object, [pa.Check(rule, element_wise=True, error=e) for rule, e in MESSAGE_RULES]
        ),
    },
    name="conversations",
    strict=True,
)


def validate(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    dataset: str,
    columns: Sequence[str] | None = None,
    *,
    rules: bool = True,
) -> pd.DataFrame:
    """``frame`` checked against ``schema`` (only ``columns`` when given), as pandera returns it.

    ``rules=False`` checks the columns and their types only, for a reader that handles any
    value itself (translation passes every task through; empty prose is nothing to translate).

    Raises:
        ValueError: naming ``dataset``, the missing columns, or the first row that breaks a
            rule (its row from 1, ``example_id``, column and rule).
    """
    if columns is not None:
        schema = schema.select_columns(list(columns))  # a copy
        schema.strict = False  # a reader may be handed columns it does not read
        schema.coerce = False  # and checks what it was handed, without converting it
    if not rules:
        schema = schema.update_columns(
            {name: {"checks": [], "unique": False} for name in schema.columns}
        )
    missing = [column for column in schema.columns if column not in frame.columns]
    if missing:
        raise ValueError(f"`{dataset}` lacks column(s) {missing}; it has {list(frame.columns)}")
    unknown = [column for column in frame.columns if column not in schema.columns]
    if schema.strict and unknown:
        raise ValueError(f"`{dataset}` has column(s) its contract does not know: {unknown}")
    if frame.empty:  # no rows to break a rule; an empty column has no dtype worth checking
        return frame
    by_position = frame.reset_index(drop=True)  # failures then name rows by position
    try:
        checked = schema.validate(by_position, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise ValueError(_first_failure(errors.failure_cases, by_position, dataset)) from None
    return checked.set_axis(frame.index)


def _first_failure(failures: pd.DataFrame, frame: pd.DataFrame, dataset: str) -> str:
    """The earliest row's first broken rule, in words; or a whole column's.

    ``frame`` has a RangeIndex, so pandera's failure index is the row's position.
    """
    whole = failures[failures["index"].isna()]
    if not whole.empty:
        first = whole.iloc[0]
        return (
            f"`{dataset}` column `{first['column']}`: {first['check']} "
            f"(got {first['failure_case']!r:.80})"
        )
    column_rank = {column: rank for rank, column in enumerate(frame.columns)}
    order = failures.assign(
        position=failures["index"].astype(int),
        rank=[column_rank.get(column, len(column_rank)) for column in failures["column"]],
        number=failures["check_number"].fillna(-1),
    ).sort_values(["position", "rank", "number"], kind="stable")
    first = order.iloc[0]
    row = int(first["position"])
    where = f"`{dataset}` row {row + 1}"
    if "example_id" in frame.columns:
        where += f" (example_id {frame['example_id'].iloc[row]})"
    rule = first["check"]
    rule = f"expected {rule}" if rule.startswith("dtype(") else rule
    return f"{where} column `{first['column']}`: {rule}; got {first['failure_case']!r:.120}"
