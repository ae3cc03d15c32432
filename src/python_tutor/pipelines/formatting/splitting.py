"""A deterministic, task-stratified train/val/test split that keeps near-duplicates together.

Examples whose code is the same once comments, docstrings and layout are ignored form one group
(code-free examples group by their normalised question), and a group never crosses splits, so
the test set never holds a reformatted copy of a training example. Groups are ordered by a
salted hash of their key, not by a random state: the same input and ``seed`` always give the
same split, on any machine.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize
from collections.abc import Mapping

from python_tutor.parameters.formatting import SPLITS


def normalise_code(code: str) -> str:
    """Code without comments, docstrings, blank lines or layout differences.

    Parsable code is round-tripped through ``ast`` (which drops comments and formatting) with
    docstrings removed; unparsable code falls back to ``tokenize`` without comments, and then to
    collapsed whitespace.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return _normalise_tokens(code)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _normalise_tokens(code: str) -> str:
    try:
        tokens = tokenize.generate_tokens(io.StringIO(code).readline)
        kept = [
            t.string
            for t in tokens
            if t.type not in {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE} and t.string.strip()
        ]
        return " ".join(kept)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return " ".join(code.split())


def group_key(code: str, question: str) -> str:
    """The near-duplicate group of an example: its normalised code, else its question."""
    if code.strip():
        payload = "code:" + normalise_code(code)
    else:
        payload = "text:" + " ".join(re.sub(r"[^\w\s]", " ", question.lower()).split())
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def assign_splits(
    groups: Mapping[str, tuple[str, int]], ratios: Mapping[str, float], seed: str
) -> dict[str, str]:
    """Assign each group to a split, per stratum, in salted-hash order.

    Args:
        groups: group key -> (stratum, number of examples in the group).
        ratios: split -> share (python_tutor.parameters.formatting.Ratios: >= 0, sum 1).
        seed: salt of the ordering hash; another seed draws another split.

    Returns:
        group key -> split. Largest groups first, each goes to the split furthest below its
        share of the stratum's examples so far, so every task gets the ratios as closely as
        whole groups allow.
    """
    order = {key: hashlib.sha256(f"{seed}\x1f{key}".encode()).hexdigest() for key in groups}
    strata: dict[str, list[str]] = {}
    for key, (stratum, _) in groups.items():
        strata.setdefault(stratum, []).append(key)
    assigned: dict[str, str] = {}
    for stratum in sorted(strata):
        # Largest groups first (then hash order), so whole groups still meet the ratios.
        keys = sorted(strata[stratum], key=lambda k: (-groups[k][1], order[k]))
        total = sum(groups[key][1] for key in keys)
        filled = dict.fromkeys(SPLITS, 0)
        for key in keys:
            split = max(SPLITS, key=lambda s: ratios[s] * total - filled[s])
            assigned[key] = split
            filled[split] += groups[key][1]
    return assigned
