"""Every run's parameters checked once, when its context is created, against typed models.

One model per top-level block (``MODELS``: ``training`` -> ``TrainingParameters`` ...), each in
its own module of this package. A problem is reported with its dotted key and the file that
set it (``conf/gpu/parameters_training.yml``, or ``--params``), all problems at once, before
anything runs or is logged. Nodes still receive the plain values Kedro resolved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from kedro.framework.hooks import hook_impl
from pydantic import ValidationError

from .evaluation import EvaluationParameters
from .export import ExportParameters
from .formatting import FormattingParameters
from .ingestion import IngestionParameters
from .knobs import Knobs
from .tracking import TrackingParameters
from .training import TrainingParameters
from .translation import TranslationParameters

MODELS: dict[str, type[Knobs]] = {
    "ingestion": IngestionParameters,
    "translation": TranslationParameters,
    "formatting": FormattingParameters,
    "training": TrainingParameters,
    "export": ExportParameters,
    "evaluation": EvaluationParameters,
    "tracking": TrackingParameters,
}

Key = tuple[str | int, ...]
_NO_VALUE = ("missing", "extra_forbidden")  # errors whose input is no value of the key


class ParametersError(ValueError):
    """Parameters that do not fit their model; the message names each key and its file."""


class ParameterSources:
    """Where each parameter key was set: a ``--params`` value, else the last file holding it."""

    def __init__(self, files: Sequence[tuple[str, Any]], runtime: Mapping[str, Any]) -> None:
        self._files = files  # (shown name, parsed content), base environment first
        self._runtime = runtime

    @classmethod
    def of(cls, loader: Any) -> ParameterSources:
        """The parameter files an ``OmegaConfigLoader`` reads, in the order it merges them."""
        conf = Path(loader.conf_source)
        envs = dict.fromkeys([loader.base_env, loader.env or loader.default_run_env])
        patterns = loader.config_patterns["parameters"]
        files = []
        for env in envs:
            found = {p for pattern in patterns for p in (conf / env).glob(pattern)}
            for path in sorted(p for p in found if p.suffix in (".yml", ".yaml")):
                content = yaml.safe_load(path.read_text(encoding="utf-8"))
                files.append((f"{conf.name}/{env}/{path.relative_to(conf / env)}", content))
        return cls(files, loader.runtime_params or {})

    def __call__(self, key: Key) -> str:
        """The source of ``key``, or of the block that lacks it."""
        for depth in range(len(key), 0, -1):
            part = key[:depth]
            if _holds(self._runtime, part):
                return "--params"
            for name, content in reversed(self._files):
                if _holds(content, part):
                    return name
        return "no parameters file"


def validate_parameters(params: Mapping[str, Any], sources: ParameterSources) -> None:
    """Check every block of ``params`` against ``MODELS``.

    Raises:
        ParametersError: listing every problem as ``key: what is wrong (file)``.
    """
    problems = [
        f"{top}: not a parameters block of this project ({sources((top,))}); blocks are "
        f"{', '.join(MODELS)}"
        for top in params
        if top not in MODELS
    ]
    for top, model in MODELS.items():
        if top not in params:
            problems.append(f"{top}: the block is missing (conf/base/parameters_{top}.yml)")
            continue
        try:
            model.model_validate(params[top])
        except ValidationError as err:
            # a value that fits no member of a union fails once per member: one line per key
            by_key: dict[Key, list[str]] = {}
            for error in err.errors():
                key = _data_key(params, (top, *error["loc"]), error["type"] == "missing")
                given = "" if error["type"] in _NO_VALUE else f"; got {error['input']!r:.80}"
                by_key.setdefault(key, []).append(f"{error['msg']}{given}")
            problems += [
                f"{_dotted(key)}: {' | '.join(dict.fromkeys(why))} ({sources(key)})"
                for key, why in by_key.items()
            ]
    if len(problems) == 1:
        raise ParametersError(f"Invalid parameter {problems[0]}")
    if problems:
        raise ParametersError("Invalid parameters:\n  - " + "\n  - ".join(problems))


class ParameterValidationHooks:
    """Refuses a run whose parameters do not fit their models, before anything runs."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        """Validate the environment's parameters merged with ``--params``."""
        validate_parameters(context.params, ParameterSources.of(context.config_loader))


def _holds(content: Any, key: Key) -> bool:
    for part in key:
        if isinstance(content, Mapping) and part in content:
            content = content[part]
        elif isinstance(content, list) and isinstance(part, int) and part < len(content):
            content = content[part]
        else:
            return False
    return True


def _data_key(params: Any, loc: Key, missing: bool) -> Key:
    """``loc`` without pydantic's own steps (union members, validators): the key in the data.

    The last step of a missing key is kept, so the error names the key to add.
    """
    key: list[str | int] = []
    content = params
    for index, part in enumerate(loc):
        if _holds(content, (part,)):
            key.append(part)
            content = content[part]
        elif missing and index == len(loc) - 1:
            key.append(part)
    return tuple(key)


def _dotted(key: Key) -> str:
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
