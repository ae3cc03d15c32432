"""Project commands: ``kedro tutor versions`` and ``kedro tutor rollback``.

Kedro adds this module's ``cli`` group to its own commands when run inside the project.
"""

from __future__ import annotations

from pathlib import Path

import click
from kedro.framework.project import settings
from kedro.framework.session import KedroSession
from rich.console import Console
from rich.table import Table

from python_tutor.versions import (
    PINS_FILE,
    list_versions,
    read_pins,
    versioned_datasets,
    write_pins,
)


@click.group(name="python-tutor")
def cli() -> None:
    """python-tutor project commands."""


@cli.group()
def tutor() -> None:
    """Artifact versions, rollback, and the tutor itself."""


def _catalog(env: str | None):
    """The catalog as a run in ``env`` would see it (pins applied)."""
    with KedroSession.create(project_path=Path.cwd(), env=env) as session:
        return session.load_context().catalog


def _pins_path(env: str | None) -> Path:
    return Path.cwd() / settings.CONF_SOURCE / (env or "local") / PINS_FILE


@tutor.command()
@click.argument("datasets", nargs=-1)
@click.option("--env", "-e", default=None, help="Kedro environment (default: local).")
def versions(datasets: tuple[str, ...], env: str | None) -> None:
    """List versioned datasets: each version's time, size and inputs; * marks the next load."""
    found = versioned_datasets(_catalog(env))
    unknown = sorted(set(datasets) - set(found))
    if unknown:
        raise click.ClickException(
            f"Not a versioned dataset: {', '.join(unknown)}. Versioned: {', '.join(found)}"
        )
    pins = read_pins(_pins_path(env))
    table = Table("", "dataset", "version", "saved (UTC)", "size", "inputs (versions)")
    for name in datasets or found:
        for info in list_versions(name, found[name]):
            marker = "*" if info.loaded_next else ""
            if info.loaded_next and name in pins:
                marker = "* pinned"
            inputs = ", ".join(f"{k}@{v}" if v else k for k, v in info.inputs.items())
            saved = info.saved_at.strftime("%Y-%m-%d %H:%M:%S") if info.saved_at else "?"
            table.add_row(marker, name, info.version, saved, _size(info.size_bytes), inputs)
    Console(width=200).print(table)


@tutor.command()
@click.argument("dataset")
@click.argument("version", required=False)
@click.option("--latest", is_flag=True, help="Remove the pin: load the newest version again.")
@click.option("--env", "-e", default=None, help="Kedro environment (default: local).")
def rollback(dataset: str, version: str | None, latest: bool, env: str | None) -> None:
    """Make DATASET's VERSION the one the next runs load (undo with --latest). Deletes nothing."""
    if bool(version) == latest:
        raise click.UsageError("Give either a VERSION or --latest.")
    pins_path = _pins_path(env)
    pins = read_pins(pins_path)
    if latest:
        pins.pop(dataset, None)
        write_pins(pins_path, pins)
        click.echo(f"{dataset}: next runs load the latest version (pin removed).")
        return
    found = versioned_datasets(_catalog(env))
    if dataset not in found:
        raise click.ClickException(
            f"'{dataset}' is not a versioned dataset. Versioned: {', '.join(found)}"
        )
    available = [info.version for info in list_versions(dataset, found[dataset])]
    if version not in available:
        raise click.ClickException(
            f"{dataset} has no version '{version}'. Versions: {', '.join(available) or 'none'}"
        )
    pins[dataset] = version
    write_pins(pins_path, pins)
    click.echo(
        f"{dataset}: next runs load version {version} (pinned in {pins_path}). "
        f"Undo: kedro tutor rollback {dataset} --latest"
    )


def _size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
