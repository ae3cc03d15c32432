"""Project commands: ``kedro tutor versions|rollback|chat``, and ``kedro run`` itself.

Kedro adds this module's ``cli`` group to its own commands when run inside the project, and a
command here replaces the framework's of the same name: ``run`` is Kedro's own, with every option
it has, except that a failure ends in one ``Error:`` line instead of a page of traceback
(``--traceback`` shows it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.project import settings
from kedro.framework.session import KedroSession
from rich.console import Console
from rich.table import Table

from python_tutor.machine import cpu_threads
from python_tutor.versions import (
    PINS_FILE,
    list_versions,
    load_version_of,
    read_pins,
    versioned_datasets,
    write_pins,
)

GOODBYE = {"salir", "exit", "quit", ":q"}


@click.group(name="python-tutor")
def cli() -> None:
    """python-tutor project commands."""


@cli.command(
    name="run",
    params=[
        *kedro_run.params,
        click.Option(
            ["--traceback"], is_flag=True, help="On failure, show the full traceback too."
        ),
    ],
    help=kedro_run.help,
    short_help=kedro_run.short_help,
)
@click.pass_context
def run(ctx: click.Context, traceback: bool, **options: Any) -> None:
    """Kedro's ``run``; a failure is one line naming the error (the log above has the node)."""
    try:
        ctx.invoke(kedro_run, **options)
    except Exception as error:
        if traceback or isinstance(error, click.ClickException):
            raise
        raise click.ClickException(
            f"kedro run failed: {type(error).__name__}: {error} "
            "(the log above names the node; --traceback shows where)"
        ) from error


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
    _require_version(found, dataset, version)
    pins[dataset] = version
    write_pins(pins_path, pins)
    click.echo(
        f"{dataset}: next runs load version {version} (pinned in {pins_path}). "
        f"Undo: kedro tutor rollback {dataset} --latest"
    )


@tutor.command()
@click.option(
    "--version", "version", default=None, help="gguf_model version (default: loaded next)."
)
@click.option("--prompt", default=None, help="Answer this one question and exit.")
@click.option(
    "--max-tokens",
    type=int,
    default=None,
    help="Longest answer, in tokens (default: the Modelfile's num_predict, as ollama run).",
)
@click.option(
    "--threads", type=int, default=None, help="CPU threads for llama.cpp (default: every core)."
)
@click.option("--env", "-e", default=None, help="Kedro environment (default: local).")
def chat(
    version: str | None,
    prompt: str | None,
    max_tokens: int | None,
    threads: int | None,
    env: str | None,
) -> None:
    """Chat in Spanish with the exported tutor (GGUF + Modelfile) through llama.cpp."""
    from python_tutor.chat import open_tutor  # noqa: PLC0415 - loads llama.cpp

    catalog = _catalog(env)
    found = versioned_datasets(catalog)
    if version:
        _require_version(found, "gguf_model", version)
        for name in ("gguf_model", "ollama_modelfile"):
            load_version_of(found[name], version)
    if not found["gguf_model"].exists():
        raise click.ClickException("No exported tutor yet: run `kedro run --pipeline export`.")
    gguf = catalog.load("gguf_model")
    modelfile = catalog.load("ollama_modelfile")
    try:
        tutor_model = open_tutor(gguf, modelfile, n_threads=cpu_threads(threads))
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    if prompt is None:
        click.echo(f"Tutor: {gguf}. Escribe tu pregunta ('salir' para terminar).")
    history: list[dict[str, str]] = []
    for question in [prompt] if prompt is not None else _ask():
        history.append({"role": "user", "content": question})
        answer = []
        for piece in tutor_model.reply(history, max_tokens):
            answer.append(piece)
            click.echo(piece, nl=False)
        click.echo()
        history.append({"role": "assistant", "content": "".join(answer).strip()})


def _ask() -> Iterator[str]:
    """Questions typed at the prompt, until EOF, Ctrl-C or 'salir'."""
    while True:
        try:
            question = click.prompt("tú", prompt_suffix="> ")
        except (EOFError, click.Abort):
            click.echo()
            return
        if question.strip().lower() in GOODBYE:
            return
        yield question


def _require_version(found: dict, dataset: str, version: str) -> None:
    """Refuse a version the dataset does not have, listing the ones it has."""
    available = [info.version for info in list_versions(dataset, found[dataset])]
    if version not in available:
        raise click.ClickException(
            f"{dataset} has no version '{version}'. Versions: {', '.join(available) or 'none'}"
        )


def _size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
