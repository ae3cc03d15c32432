"""The shipped parameters, resolved as `kedro run` resolves them (globals included)."""

from __future__ import annotations

import copy

import pytest
from kedro.config import OmegaConfigLoader

from python_tutor.settings import CONFIG_LOADER_ARGS


@pytest.fixture(scope="session")
def _resolved(project_root) -> dict:
    conf = str(project_root / "conf")
    return OmegaConfigLoader(conf_source=conf, env="local", **CONFIG_LOADER_ARGS)["parameters"]


@pytest.fixture
def shipped(_resolved) -> dict:
    """A fresh copy of the default run's parameters, to break one knob at a time."""
    return copy.deepcopy(_resolved)
