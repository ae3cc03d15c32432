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


@pytest.fixture
def tutor_mode(apertium) -> None:
    """Where apertium is installed, the tutor mode must be compiled (make apertium-tutor)."""
    text = (ROOT / "conf/base/parameters_translation.yml").read_text(encoding="utf-8")
    apertium_params = yaml.safe_load(text)["translation"]["backend"]["apertium"]
    mode = ROOT / apertium_params["modes_dir"] / "modes" / f"{apertium_params['mode']}.mode"
    if not mode.is_file():
        pytest.fail(f"{mode} is missing: run `make apertium-tutor`")
