"""Shared test setup: offline, no telemetry, and the project's root for session tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set before Kedro or transformers are imported by any test module.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root (holds conf/, data/, src/)."""
    return PROJECT_ROOT
