"""The base of every parameters model: each key declared, typed, and no other key allowed.

Each block of ``conf/base/parameters_<block>.yml`` is declared as a tree of these models
(``parameters/<block>.py``); ``parameters.validation`` checks the resolved
parameters against them once, when a run's context is created. The models only check: nodes
still receive the plain mappings Kedro resolved, so a run's parameters (and everything logged
from them) are exactly what the YAML says.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Knobs(BaseModel):
    """A block of parameters. A key the block does not declare is an error (a typo is the
    classic bug: a misspelt knob would otherwise be ignored and its default used); values are
    not converted (``strict``: ``"8"`` is no integer), except an integer where a float is due.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
