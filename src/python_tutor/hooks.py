"""Lineage, rollback pins and per-run scratch folders: hooks that watch runs.

Lineage: every versioned artifact records the versions of what it was made from.

Kedro versions each dataset on its own; this hook ties them together. Beside each versioned save
(``filepath/<version>/``) it writes ``_lineage.json``: the node that produced it, the load
version of each of that node's inputs, and the parameters the node received. Rollback tools and
reports read it, so "which data trained this adapter?" has a file for an answer.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from python_tutor.datasets.atomic import write_text
from python_tutor.datasets.run_scratch import RunScratchDataset
from python_tutor.versions import (
    LINEAGE_FILE,
    load_version,
    load_version_of,
    version_dir,
    versioned_dataset,
)

logger = logging.getLogger(__name__)


class LineageHooks:
    """Writes ``_lineage.json`` beside every versioned dataset a node saves."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._inputs: dict[str, dict[str, Any]] = {}

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        """Keep the catalog: input versions are resolved from it."""
        self._catalog = catalog

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any]) -> None:
        """Remember the resolved load version of each input, and the node's parameters."""
        versions: dict[str, str | None] = {}
        params: dict[str, Any] = {}
        for name in node.inputs:
            if name.startswith("params:") or name == "parameters":
                params[name] = inputs.get(name)
                continue
            versions[name] = load_version(catalog, name)
        self._inputs[node.name] = {"inputs": versions, "parameters": params}

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, node: Any) -> None:
        """Write the lineage record into the folder of the version just saved."""
        dataset = versioned_dataset(self._catalog, dataset_name)
        if dataset is None:
            return
        version = dataset.resolve_save_version()
        folder = version_dir(dataset, version)
        if not folder.is_dir():  # a remote filesystem: lineage is local-only for now
            return
        path = folder / LINEAGE_FILE
        datasets = [dataset_name]
        if path.is_file():  # several datasets can share one version folder (GGUF + Modelfile)
            earlier = json.loads(path.read_text(encoding="utf-8"))
            if earlier.get("node") == node.name and earlier.get("version") == version:
                datasets = sorted({*earlier.get("datasets", []), dataset_name})
        record = {
            "datasets": datasets,
            "version": version,
            "node": node.name,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **self._inputs.get(node.name, {"inputs": {}, "parameters": {}}),
        }
        # atomic: a run killed mid-write leaves the previous record, never half a JSON file
        write_text(path, json.dumps(record, indent=2, ensure_ascii=False, default=str))


class OwnVersionsHooks:
    """A run reads back the versions it saved itself, never a concurrent run's newer one.

    "Latest" is the newest folder on disk: with two runs in one project, the export of the
    first could load the adapter the second saved a moment later. Pinning each saved dataset's
    load version to this run's save version keeps every run consistent on its own.
    """

    def __init__(self) -> None:
        self._catalog: Any = None

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        """Keep the catalog: saved datasets are looked up in it."""
        self._catalog = catalog

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        """Later loads of ``dataset_name`` in this run read the version just saved."""
        dataset = versioned_dataset(self._catalog, dataset_name)
        if dataset is not None:
            load_version_of(dataset, dataset.resolve_save_version())


class PinnedVersionsHooks:
    """Applies rollback pins (``conf/<env>/pins.yml``, written by ``kedro tutor rollback``).

    A pin is a persistent ``--load-versions``: the next runs load that version of the dataset.
    An explicit ``--load-versions`` for the same dataset wins over the pin.
    """

    def __init__(self) -> None:
        self._pins: dict[str, str] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Read the pins of the run's environment (none when there is no pins file)."""
        try:
            self._pins = dict(context.config_loader["pins"].get("pins") or {})
        except MissingConfigException:
            self._pins = {}

    @hook_impl
    def after_catalog_created(self, catalog: Any, load_versions: dict[str, str]) -> None:
        """Point each pinned dataset's load version at its pin."""
        for name, version in self._pins.items():
            if name in (load_versions or {}):
                continue
            dataset = versioned_dataset(catalog, name)
            if dataset is None:
                logger.warning("Pin for '%s' ignored: no versioned dataset of that name.", name)
                continue
            load_version_of(dataset, version)
            logger.info("Loading %s version %s (pinned by `kedro tutor rollback`).", name, version)


class ScratchHooks:
    """Removes the run's scratch folders (``RunScratchDataset``) when the run succeeds.

    Everything in them was copied into versioned datasets by then. A failed run keeps them and
    says where, for a look; they are never read again.
    """

    @hook_impl
    def after_pipeline_run(self, catalog: Any) -> None:
        """The run succeeded: its scratch folders are spent."""
        for dataset in _scratch_datasets(catalog):
            dataset.remove()

    @hook_impl
    def on_pipeline_error(self, catalog: Any) -> None:
        """The run failed: keep its scratch folders, and say which."""
        for dataset in _scratch_datasets(catalog):
            if dataset.folder.is_dir():
                logger.info(
                    "Kept the failed run's scratch folder %s (delete it when done)", dataset.folder
                )


def _scratch_datasets(catalog: Any) -> list[RunScratchDataset]:
    found = (catalog.get(name) for name in catalog.keys())  # noqa: SIM118 - a catalog, not a dict
    return [dataset for dataset in found if isinstance(dataset, RunScratchDataset)]
