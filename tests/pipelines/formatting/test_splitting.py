"""The split: deterministic, stratified by task, and near-duplicates never cross it."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.pipelines.formatting.nodes import split_conversations
from python_tutor.pipelines.formatting.splitting import (
    SPLITS,
    assign_splits,
    group_key,
    normalise_code,
)

SPLIT = {"ratios": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": "s1"}
TASKS = ("explain", "fix", "generate", "qa")


def conversation(example_id: str, task: str, code: str, question: str) -> dict:
    return {
        "example_id": example_id,
        "task": task,
        "code": code,
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": question},
            {"role": "assistant", "content": "A"},
        ],
        "n_tokens": 10,
    }


def variants(n: int) -> list[str]:
    """Three spellings of the same function: comments, a docstring, other layout."""
    return [
        f"def f{n}(x):\n    return x + {n}\n",
        f"def f{n}(x):  # add\n    '''Add {n}.'''\n\n    return x+{n}\n",
        f"def f{n}( x ):\n    # the sum\n    return (x + {n})\n",
    ]


@pytest.fixture
def conversations() -> pd.DataFrame:
    rows = []
    for t, task in enumerate(TASKS):
        for n in range(40):
            ident = f"{t}{n:03d}"
            code = "" if task == "qa" else f"y = {n} * {t}\n"
            rows.append(conversation(ident, task, code, f"Pregunta {task} {n}"))
    for n in range(10):  # near-duplicate families; the first spans two tasks
        for v, code in enumerate(variants(n)):
            task = TASKS[(v if n == 0 else n) % 2]
            rows.append(conversation(f"d{n}{v}", task, code, f"Variante {v}"))
    rows.append(conversation("qdup1", "qa", "", "¿Qué es una tupla?"))
    rows.append(conversation("qdup2", "qa", "", "¿Qué es una  TUPLA"))
    return pd.DataFrame(rows)


def assignment_of(frame: pd.DataFrame, split=SPLIT) -> dict[str, str]:
    *_, assignment = split_conversations(frame, split)
    return dict(zip(assignment["example_id"], assignment["split"]))


def test_normalised_code_ignores_comments_docstrings_and_layout():
    assert len({normalise_code(code) for code in variants(3)}) == 1
    assert normalise_code("x = 1") != normalise_code("x = 2")
    assert normalise_code("print(1 +)  # broken") == normalise_code("print( 1 + )")


def test_group_key_uses_code_else_the_question():
    assert group_key(variants(1)[0], "a") == group_key(variants(1)[2], "b")
    assert group_key("", "¿Qué es una tupla?") == group_key("", "qué es una tupla")
    assert group_key("", "¿Qué es una tupla?") != group_key("", "¿Qué es una lista?")


def test_split_is_deterministic_and_order_independent(conversations):
    first = assignment_of(conversations)
    assert assignment_of(conversations) == first
    shuffled = conversations.sample(frac=1, random_state=7).reset_index(drop=True)
    assert assignment_of(shuffled) == first
    other_seed = assignment_of(conversations, {**SPLIT, "seed": "s2"})
    assert other_seed != first


def test_no_near_duplicate_crosses_splits(conversations):
    assigned = assignment_of(conversations)
    for n in range(10):
        assert len({assigned[f"d{n}{v}"] for v in range(3)}) == 1
    assert assigned["qdup1"] == assigned["qdup2"]


def test_every_task_is_split_by_the_ratios(conversations):
    train, val, test, assignment = split_conversations(conversations, SPLIT)
    assert len(train) + len(val) + len(test) == len(conversations)
    for task in TASKS:
        counts = assignment.loc[assignment["task"] == task, "split"].value_counts()
        total = counts.sum()
        for name, ratio in SPLIT["ratios"].items():
            assert abs(counts[name] - ratio * total) <= 3, (task, counts.to_dict())
    assert list(train["example_id"]) == sorted(train["example_id"])
    assert set(train.columns) == {"example_id", "task", "messages"}


@pytest.mark.parametrize("seed", ["a", "b", "c", "d"])
def test_ratios_count_examples_not_groups(seed):
    groups = {"big": ("explain", 10), **{f"s{i}": ("explain", 1) for i in range(10)}}
    assigned = assign_splits(groups, {"train": 0.5, "val": 0.5, "test": 0.0}, seed)
    filled = {name: sum(groups[k][1] for k, s in assigned.items() if s == name) for name in SPLITS}
    assert filled == {"train": 10, "val": 10, "test": 0}


def test_split_weighs_groups_by_their_examples():
    family = [conversation(f"a{i}", "fix", f"x = 1  # variant {i}\n", "Q") for i in range(10)]
    singles = [conversation(f"b{i}", "fix", f"y = {i}\n", "Q") for i in range(10)]
    split = {"ratios": {"train": 0.5, "val": 0.5, "test": 0.0}, "seed": "s1"}
    train, val, test, _ = split_conversations(pd.DataFrame(family + singles), split)
    assert (len(train), len(val), len(test)) == (10, 10, 0)
