"""Column mappings from parameters: how one CSV shape becomes the canonical example fields.

A field spec is a column name (``"output"``), ``{"column": name}`` (optionally with a
``fallback`` column for empty cells), ``{"template": "{title}\\n\\n{question}"}`` (columns in
braces) or ``{"value": "constant text"}``. Column and template specs may name a ``transform``
(a name or a list, applied in order; for a template also ``{column: transforms}`` per column).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from python_tutor.contracts import LANGUAGES, TASKS

from .transforms import PROSE, PYTHON, apply, check_chain

FIELDS = ("instruction", "code", "response")
REQUIRED_FIELDS = ("instruction", "response")
_KINDS = ("column", "template", "value")


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field's recipe; ``columns`` are the CSV columns it reads."""

    kind: str  # column | template | value
    text: str
    fallback: str | None = None  # column read when ``text``'s cell is blank (kind column)
    transforms: tuple[str, ...] = ()  # applied to the rendered value
    column_transforms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # template

    @property
    def columns(self) -> tuple[str, ...]:
        """CSV columns this field reads (none for a constant)."""
        if self.kind == "column":
            return (self.text, self.fallback) if self.fallback else (self.text,)
        if self.kind == "template":
            names = (name for _, name, _, _ in string.Formatter().parse(self.text) if name)
            return tuple(dict.fromkeys(names))
        return ()

    def render(self, row: Mapping[str, str]) -> str:
        """The field's value for one raw row.

        Raises:
            TransformError: a transform cannot handle the cell (the row is rejected).
        """
        if self.kind == "column":
            value = row[self.text]
            if self.fallback and not value.strip():
                value = row[self.fallback]
        elif self.kind == "template":
            cells = {c: apply(self.column_transforms.get(c, ()), row[c]) for c in self.columns}
            value = self.text.format_map(cells)
        else:
            value = self.text
        return apply(self.transforms, value)

    def describe(self) -> str:
        """How error messages name where a value came from."""
        return ", ".join(f"'{c}'" for c in self.columns) or "(constant)"


def parse_field(source: str, name: str, spec: Any) -> FieldSpec:
    """Turn one parameter entry into a FieldSpec, naming the source and field on error."""
    where = f"parameters_ingestion.yml: source '{source}' field '{name}'"
    if isinstance(spec, str):
        return FieldSpec("column", spec)
    kinds = [k for k in _KINDS if isinstance(spec, Mapping) and k in spec]
    if (
        len(kinds) != 1
        or not isinstance(spec[kinds[0]], str)
        or set(spec) - {kinds[0], "fallback", "transform"}
    ):
        raise ValueError(
            f"{where} must be a column name or one of {{column: ...}}, {{template: ...}}, "
            f"{{value: ...}} (optionally with `transform`, and `fallback` for a column); "
            f"got {spec!r}"
        )
    kind, fallback, transform = kinds[0], spec.get("fallback"), spec.get("transform")
    if fallback is not None and (kind != "column" or not isinstance(fallback, str)):
        raise ValueError(f"{where}: `fallback` names a column and goes with {{column: ...}}")
    if transform is not None and kind == "value":
        raise ValueError(f"{where}: a constant {{value: ...}} takes no transform")
    per_column: dict[str, tuple[str, ...]] = {}
    whole: tuple[str, ...] = ()
    if isinstance(transform, Mapping) and kind == "template":
        per_column = {column: _transform_names(where, t) for column, t in transform.items()}
    else:
        whole = _transform_names(where, transform)
    parsed = FieldSpec(kind, spec[kind], fallback, whole, per_column)
    stray = sorted(set(per_column) - set(parsed.columns))
    if stray:
        raise ValueError(f"{where}: transform names column(s) {stray} the template does not use")
    holds = PYTHON if name == "code" else PROSE
    for chain in (whole, *per_column.values()):
        problem = check_chain(chain, holds)
        if problem:
            raise ValueError(f"{where}: {problem}")
    return parsed


def _transform_names(where: str, transform: Any) -> tuple[str, ...]:
    """``transform`` as a tuple of names: absent, one name, or a list applied in order."""
    if transform is None:
        return ()
    if isinstance(transform, str):
        return (transform,)
    if isinstance(transform, list) and all(isinstance(t, str) for t in transform):
        return tuple(transform)
    raise ValueError(
        f"{where}: `transform` must be a name or a list of names (per column for a template); "
        f"got {transform!r}"
    )


@dataclass(frozen=True)
class SourceSpec:
    """One raw CSV and how it maps onto the canonical schema."""

    name: str
    file: str
    fields: dict[str, FieldSpec]
    task_column: str | None
    task_rules: tuple[tuple[re.Pattern[str], str], ...]
    task_default: str | None
    kaggle: str | None = None
    unparsable_code: str = "reject"  # or "append_to_instruction" (alpaca inputs mix code and text)
    language: str = "en"  # the language of the prose; translation passes "es" rows through
    encoding: str | None = None  # the file's text encoding; None: UTF-8, else detected

    @property
    def columns(self) -> set[str]:
        """Every CSV column the mapping reads."""
        used = {c for spec in self.fields.values() for c in spec.columns}
        return used | ({self.task_column} if self.task_column else set())

    def task_for(self, row: Mapping[str, str], instruction: str) -> str:
        """The task from the task column, else the first matching rule, else the default."""
        if self.task_column:
            return row[self.task_column].strip().lower()
        for pattern, task in self.task_rules:
            if pattern.search(instruction):
                return task
        return self.task_default or ""


def parse_source(entry: Mapping[str, Any]) -> SourceSpec:
    """Validate one ``sources`` entry of the ingestion parameters."""
    name = entry.get("name")
    if not name or not entry.get("file"):
        raise ValueError(
            f"parameters_ingestion.yml: every source needs `name` and `file`: {entry!r}"
        )
    fields_param = entry.get("fields") or {}
    unknown = set(fields_param) - set(FIELDS)
    missing = set(REQUIRED_FIELDS) - set(fields_param)
    if unknown or missing:
        raise ValueError(
            f"parameters_ingestion.yml: source '{name}' fields must map {REQUIRED_FIELDS} "
            f"(and optionally 'code'); unknown {sorted(unknown)}, missing {sorted(missing)}"
        )
    task = entry.get("task") or {}
    rules = tuple((re.compile(r["pattern"]), r["task"]) for r in task.get("rules", []))
    default = task.get("default")
    for value in [default, *(t for _, t in rules)]:
        if value is not None and value not in TASKS:
            raise ValueError(
                f"parameters_ingestion.yml: source '{name}' names task '{value}'; tasks are {TASKS}"
            )
    if not task.get("column") and default is None:
        raise ValueError(
            f"parameters_ingestion.yml: source '{name}' needs `task.column` or `task.default`"
        )
    return SourceSpec(
        name=name,
        file=entry["file"],
        fields={k: parse_field(name, k, v) for k, v in fields_param.items()},
        task_column=task.get("column"),
        task_rules=rules,
        task_default=default,
        kaggle=entry.get("kaggle"),
        unparsable_code=_choice(name, "unparsable_code", entry, UNPARSABLE_CODE),
        language=_choice(name, "language", entry, LANGUAGES),
        encoding=entry.get("encoding"),
    )


UNPARSABLE_CODE = ("reject", "append_to_instruction")


def _choice(source: str, key: str, entry: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    """An optional enumerated setting of a source; its first allowed value is the default."""
    value = entry.get(key, allowed[0])
    if value not in allowed:
        raise ValueError(
            f"parameters_ingestion.yml: source '{source}' {key} must be one of {allowed}; "
            f"got {value!r}"
        )
    return value
