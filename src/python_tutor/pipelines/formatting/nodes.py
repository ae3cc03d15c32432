"""Formatting nodes: Spanish chat conversations, a length filter, a leak-free split, a report."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from python_tutor.chat_templates import count_tokens_many, resolve_chat_template
from python_tutor.contracts import CONVERSATIONS, TASKS, TRANSLATED_EXAMPLES, validate

from .splitting import SPLITS, assign_splits, group_key
from .templating import check_user_templates, user_turn

logger = logging.getLogger(__name__)

INPUT_COLUMNS = ["example_id", "task", "code", "instruction_es", "response_es"]
CONVERSATION_COLUMNS = list(CONVERSATIONS.columns)
REJECTED_COLUMNS = ["example_id", "task", "reason_kind", "reason", "n_tokens"]
PERCENTILES = (50, 90, 95, 99)


def _text(value: Any) -> str:
    """Cells read from JSONL may be None/NaN where a field is empty."""
    return value if isinstance(value, str) else ""


def _rejected(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=REJECTED_COLUMNS)
    frame["n_tokens"] = frame["n_tokens"].astype("Int64")
    return frame


def build_conversations(
    translated_examples: pd.DataFrame, prompts: Mapping[str, Any], quality: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One system/user/assistant conversation per translated example.

    The system turn is the tutor prompt, the user turn the task's template filled with the
    Spanish instruction and the code (fenced, byte for byte; ``code_es`` when
    ``prompts.code_column`` says so), the assistant turn the Spanish response. Rows the
    templates cannot express, and rows translation flagged (``quality.skip_flagged``), are
    rejected with their reason, never dropped.

    Returns:
        ``conversations`` (example_id, task, code, messages) and the rejected rows.

    Raises:
        ValueError: a required input column or a prompt parameter is missing or malformed.
    """
    validate(translated_examples, TRANSLATED_EXAMPLES, "translated_examples", INPUT_COLUMNS)
    system = _text(prompts.get("system")).strip()
    templates = check_user_templates(prompts.get("user") or {})
    language = prompts.get("code_language", "python")
    code_column = prompts["code_column"]
    frame = translated_examples.assign(
        code=translated_examples.get(code_column, translated_examples["code"]),
        quality_flags=translated_examples.get(
            "quality_flags",
            pd.Series([None] * len(translated_examples), index=translated_examples.index),
        ),
    )
    kept, rejected = [], []
    for row in frame[[*INPUT_COLUMNS, "quality_flags"]].itertuples(index=False):
        instruction, response = _text(row.instruction_es), _text(row.response_es)
        code = _text(row.code)
        flags = list(row.quality_flags) if isinstance(row.quality_flags, list | tuple) else []
        base = {"example_id": row.example_id, "task": row.task, "n_tokens": None}
        if flags and quality["skip_flagged"]:
            reason = (
                "low_quality_translation",
                f"translation flagged {', '.join(flags)} (formatting.quality.skip_flagged)",
            )
        elif row.task not in TASKS:
            reason = ("unknown_task", f"task {row.task!r} is not one of {list(TASKS)}")
        elif not instruction.strip() or not response.strip():
            empty = "instruction_es" if not instruction.strip() else "response_es"
            reason = ("empty_translation", f"column {empty} is empty")
        else:
            user = user_turn(templates, row.task, instruction, code, language)
            if user is None:
                variant = "with_code" if code.strip() else "without_code"
                reason = (
                    "no_template",
                    f"`formatting.prompts.user.{row.task}.{variant}` is null: "
                    f"{row.task} examples {'with' if code.strip() else 'without'} code "
                    "are not used",
                )
            else:
                messages = [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": response.strip()},
                ]
                kept.append({**base, "code": code, "messages": messages})
                continue
        kind, text = reason
        rejected.append({**base, "reason_kind": kind, "reason": f"{row.example_id}: {text}"})
    conversations = pd.DataFrame(kept, columns=["example_id", "task", "code", "messages"])
    logger.info("Built %d conversations, rejected %d rows", len(kept), len(rejected))
    return conversations, _rejected(rejected)


def filter_long_conversations(
    conversations: pd.DataFrame, base_tokenizer: Any, lengths: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measure each conversation in tokens as training will see it; reject the overlong.

    Lengths come from the real tokenizer and the resolved chat template (markers included), so
    ``max_seq_length`` here means exactly what it means to the trainer. Nothing is truncated:
    a cut answer would teach the model to stop mid-sentence.

    Returns:
        The kept conversations with ``n_tokens``, and the rejected ones with their length.
    """
    limit = int(lengths["max_seq_length"])
    template = resolve_chat_template(lengths.get("chat_template"), base_tokenizer)
    measured = conversations.assign(
        n_tokens=count_tokens_many(base_tokenizer, template, list(conversations["messages"]))
    )
    too_long = measured["n_tokens"] > limit
    over = measured.loc[too_long]
    rejected = over[["example_id", "task", "n_tokens"]].assign(
        reason_kind="too_long",
        reason=[
            f"{example}: {n} tokens > max_seq_length {limit} ({template.name} template)"
            for example, n in zip(over["example_id"], over["n_tokens"])
        ],
    )
    logger.info(
        "Token lengths (%s template): %d kept, %d over max_seq_length=%d",
        template.name,
        int((~too_long).sum()),
        int(too_long.sum()),
        limit,
    )
    return measured.loc[~too_long].reset_index(drop=True), _rejected(rejected.to_dict("records"))


def split_conversations(
    conversations: pd.DataFrame, split: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Deterministic train/val/test, stratified by task, near-duplicate groups kept whole.

    Returns:
        ``tutor_train``, ``tutor_val``, ``tutor_test`` (example_id, task, messages; sorted by
        example_id) and the assignment (example_id, task, group, split, n_tokens) for the report.
    """
    ratios = {name: float(split["ratios"][name]) for name in SPLITS}
    questions = [m[1]["content"] for m in conversations["messages"]]
    groups = [group_key(c, q) for c, q in zip(conversations["code"], questions)]
    frame = conversations.assign(group=groups).sort_values("example_id", kind="stable")
    # A group's stratum is the task of its first example, so a group is never split by task.
    first = frame.groupby("group", sort=False).agg(task=("task", "first"), n=("task", "size"))
    sizes = {key: (task, int(n)) for key, task, n in first.itertuples()}
    assigned = assign_splits(sizes, ratios, str(split["seed"]))
    frame["split"] = frame["group"].map(assigned)
    outputs = tuple(
        validate(
            frame.loc[frame["split"] == name, CONVERSATION_COLUMNS].reset_index(drop=True),
            CONVERSATIONS,
            f"tutor_{name}",
        )
        for name in SPLITS
    )
    assignment = frame[["example_id", "task", "group", "split", "n_tokens"]].reset_index(drop=True)
    logger.info(
        "Split %d conversations in %d groups: %s",
        len(frame),
        len(sizes),
        {n: len(o) for n, o in zip(SPLITS, outputs)},
    )
    return (*outputs, assignment)


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}


def _distribution(values: pd.Series) -> dict[str, float | int | None]:
    if values.empty:
        return {"count": 0, "min": None, "mean": None, "max": None}
    stats: dict[str, float | int | None] = {
        "count": int(values.size),
        "min": int(values.min()),
        "mean": round(float(values.mean()), 1),
        "max": int(values.max()),
    }
    for p in PERCENTILES:
        stats[f"p{p}"] = int(np.percentile(values, p, method="nearest"))
    return stats


def report_formatting(
    translated_examples: pd.DataFrame,
    rejected_templating: pd.DataFrame,
    rejected_overlong: pd.DataFrame,
    split_assignment: pd.DataFrame,
    lengths: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], Any]:
    """All rejections in one table, the report, and the token-length histogram.

    Raises:
        RuntimeError: the counts do not add up (rows in = kept + rejected), or a near-duplicate
            group crosses splits; both would mean a bug upstream, not bad data.
    """
    rejected = pd.concat([rejected_templating, rejected_overlong], ignore_index=True)
    rejected = _rejected(rejected.to_dict("records"))
    rows_in, kept = len(translated_examples), len(split_assignment)
    if rows_in != kept + len(rejected):
        raise RuntimeError(
            f"Formatting accounting does not add up: {rows_in} in, {kept} kept, "
            f"{len(rejected)} rejected"
        )
    crossing = split_assignment.groupby("group")["split"].nunique()
    if (crossing > 1).any():
        leaked = list(crossing[crossing > 1].index)
        raise RuntimeError(f"Near-duplicate groups cross splits: {leaked}")
    limit = int(lengths["max_seq_length"])
    by_split = {
        name: {
            "conversations": int((split_assignment["split"] == name).sum()),
            "by_task": _counts(split_assignment.loc[split_assignment["split"] == name, "task"]),
        }
        for name in SPLITS
    }
    measured = pd.concat(
        [split_assignment["n_tokens"], rejected_overlong["n_tokens"]], ignore_index=True
    ).astype(int)
    report = {
        "rows_in": rows_in,
        "kept": kept,
        "rejected": len(rejected),
        "by_reason": _counts(rejected["reason_kind"]),
        "splits": by_split,
        "groups": int(split_assignment["group"].nunique()),
        "groups_crossing_splits": 0,
        "token_lengths": {
            "chat_template": lengths.get("chat_template") or "model",
            "max_seq_length": limit,
            "too_long": len(rejected_overlong),
            "measured": _distribution(measured),
            "kept": _distribution(split_assignment["n_tokens"].astype(int)),
        },
    }
    logger.info(
        "Formatting: %d in, %d kept (%s), %d rejected %s",
        rows_in,
        kept,
        {n: s["conversations"] for n, s in by_split.items()},
        len(rejected),
        report["by_reason"],
    )
    empty = [name for name, counts in by_split.items() if not counts["conversations"]]
    if empty:
        logger.warning("Formatting left split(s) %s empty: see rejected_conversations", empty)
    figure = _histogram(
        split_assignment["n_tokens"].astype(int),
        rejected_overlong["n_tokens"].astype(int),
        limit,
        int(lengths.get("histogram_bins", 40)),
    )
    return rejected, report, figure


def _histogram(kept: pd.Series, too_long: pd.Series, limit: int, bins: int) -> Any:
    """Kept and rejected lengths stacked, with the limit drawn, so the cut is visible."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - only the report node draws

    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.add_subplot()
    values = [kept.to_numpy(), too_long.to_numpy()]
    upper = max([limit, *(int(v.max()) for v in values if v.size)])
    axes.hist(
        values,
        bins=np.linspace(0, upper, bins + 1),
        stacked=True,
        label=[f"kept ({kept.size})", f"rejected: too long ({too_long.size})"],
        color=["#3b75af", "#d1495b"],
    )
    axes.axvline(limit, color="black", linestyle="--", label=f"max_seq_length = {limit}")
    axes.set_xlabel("tokens per conversation (chat template included)")
    axes.set_ylabel("conversations")
    axes.set_title("Token lengths of the tutor conversations")
    axes.legend()
    return figure
