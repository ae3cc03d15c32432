"""Secrets never travel as parameters: a run whose parameters hold one is refused at its start.

Every parameter a node receives is copied into mlflow (kedro-mlflow logs them), ``_lineage.json``
and training's ``provenance.json``, so a key put there is written in clear in three places.
Kedro's own place for secrets is ``conf/local/credentials.yml`` (git-ignored), handed only to
the datasets whose catalog entry names them.

The rule: a parameter key at any depth (lists of mappings included) whose last word is ``key``,
``token``, ``secret`` or ``password`` (words split at ``_``, ``-``, ``.`` and camelCase; glued
forms such as ``apikey`` or ``authToken`` count too) looks like a secret. Knobs that merely
mention those words pass because the word is not last: ``max_new_tokens`` (plural),
``min_next_token_agreement``, ``tokenizer``, ``keep_checkpoints``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kedro.framework.hooks import hook_impl

SECRET_WORDS = ("key", "token", "secret", "password", "passwd")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


def looks_like_secret(name: str) -> bool:
    """Whether a parameter name's last word names a secret (see the module docstring)."""
    words = _WORD.findall(str(name))
    return bool(words) and words[-1].lower().endswith(SECRET_WORDS)


def secret_like_keys(params: Any, prefix: str = "") -> Iterator[str]:
    """The dotted paths (``a.b[0].c``) of every key in ``params`` that looks like a secret."""
    if isinstance(params, dict):
        for name, value in params.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            if looks_like_secret(name):
                yield path
            yield from secret_like_keys(value, path)
    elif isinstance(params, list | tuple):
        for index, value in enumerate(params):
            yield from secret_like_keys(value, f"{prefix}[{index}]")


class SecretParameterError(ValueError):
    """Parameters hold what looks like a secret."""


class SecretParametersHooks:
    """Refuses a run whose parameters (conf files or ``--params``) look like they hold secrets."""

    @hook_impl(tryfirst=True)  # before tracking opens its store or anything is logged
    def after_context_created(self, context: Any) -> None:
        """Check every parameter key of the run's environment and runtime parameters.

        Raises:
            SecretParameterError: naming each key and where secrets belong instead.
        """
        found = sorted(secret_like_keys(context.params))
        if found:
            raise SecretParameterError(
                f"Parameter(s) {', '.join(found)} look like secrets (the name ends in "
                f"{'/'.join(SECRET_WORDS)}). Parameters are logged to mlflow, _lineage.json and "
                "provenance.json, so secrets go in conf/local/credentials.yml (Kedro credentials, "
                "git-ignored) and reach the dataset that needs them through its catalog entry's "
                "`credentials:`. Move the value there and rename or remove the parameter."
            )
