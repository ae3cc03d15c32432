"""Column mappings from parameters: how one CSV shape becomes the canonical example fields.

A field spec is a column name (``"output"``), ``{"column": name}``, ``{"template": "{title}\\n\\n
{question}"}`` (columns in braces) or ``{"value": "constant text"}``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TASKS = ("explain", "fix", "generate", "qa")
FIELDS = ("instruction", "code", "response")
REQUIRED_FIELDS = ("instruction", "response")


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field's recipe; ``columns`` are the CSV columns it reads."""

    kind: str  # column | template | value
    text: str

    @property
    def columns(self) -> tuple[str, ...]:
        """CSV columns this field reads (none for a constant)."""
        if self.kind == "column":
            return (self.text,)
        if self.kind == "template":
            names = (name for _, name, _, _ in string.Formatter().parse(self.text) if name)
            return tuple(dict.fromkeys(names))
        return ()

    def render(self, row: Mapping[str, str]) -> str:
        """The field's value for one raw row."""
        if self.kind == "column":
            return row[self.text]
        if self.kind == "template":
            return self.text.format_map(row)
        return self.text

    def describe(self) -> str:
        """How error messages name where a value came from."""
        return ", ".join(f"'{c}'" for c in self.columns) or "(constant)"


def parse_field(source: str, name: str, spec: Any) -> FieldSpec:
    """Turn one parameter entry into a FieldSpec, naming the source and field on error."""
    if isinstance(spec, str):
        return FieldSpec("column", spec)
    if isinstance(spec, Mapping) and len(spec) == 1:
        ((kind, text),) = spec.items()
        if kind in {"column", "template", "value"} and isinstance(text, str):
            return FieldSpec(kind, text)
    raise ValueError(
        f"parameters_ingestion.yml: source '{source}' field '{name}' must be a column name or "
        f"one of {{column: ...}}, {{template: ...}}, {{value: ...}}; got {spec!r}"
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
