"""Translation test fixtures: the real parameters and a local HTTP stub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .fakes import GoogleStub

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def params() -> dict:
    """The real ``translation`` parameters, so tests exercise what a run uses."""
    text = (ROOT / "conf/base/parameters_translation.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["translation"]


@pytest.fixture
def google_stub() -> Iterator[GoogleStub]:
    stub = GoogleStub()
    yield stub
    stub.close()


@pytest.fixture
def apertium() -> None:
    """Skip where the offline engine is missing (make system-deps installs it)."""
    import shutil

    if shutil.which("apertium") is None:
        pytest.skip("apertium is not installed (make system-deps)")
