"""Experiment tracking: each ``kedro run`` is one mlflow run, in a local store, no server.

kedro-mlflow's own hook opens and closes the run and logs the parameters each node receives
(``conf/base/mlflow.yml``). ``TrackingHooks`` holds that hook instead of letting the plugin register
itself (``DISABLE_HOOKS_FOR_PLUGINS`` in settings), so that one setting, ``tracking.enabled`` in
``conf/base/parameters_tracking.yml``, turns everything off: no run is opened, no store is created.
On top of the plugin it logs, as the datasets are saved:

- metrics: the numbers of the datasets in ``tracking.metrics`` (see ``metrics_of``);
- artifacts: the files of the datasets in ``tracking.artifacts`` (plots, reports);
- tags ``version.<dataset>``: the version of every versioned dataset the run loaded or saved.

The catalog keeps plain Kedro datasets (no ``Mlflow*Dataset`` wrappers), so lineage
(``_lineage.json``) and ``kedro tutor versions`` see every artifact as before.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# mlflow sends usage telemetry unless told not to (it reads DO_NOT_TRACK only as "true"), and it
# decides when first imported: here, before anything imports it. mlflow itself is imported only
# when tracking is on, so a machine without it (a GPU box with a slim install) runs with it off.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from kedro.framework.hooks import hook_impl

from python_tutor.versions import load_version, version_path, versioned_dataset

logger = logging.getLogger(__name__)

VERSION_TAG = "version.{}"
_MIB = 1024 * 1024


class TrackingHooks:
    """Runs kedro-mlflow's hook when ``tracking.enabled``, and logs metrics, files and versions."""

    def __init__(self) -> None:
        self._plugin: Any = None  # kedro-mlflow's MlflowHook, None when tracking is off
        self._settings: dict[str, Any] = {}
        self._catalog: Any = None
        self._client: Any = None
        self._run_id: str | None = None  # the open mlflow run
        self._versions: dict[str, str] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Read ``tracking``; when enabled, kedro-mlflow reads mlflow.yml and sets up the store."""
        self._settings = dict(context.params.get("tracking") or {})
        self._plugin = None
        if self._settings.get("enabled", True):
            from filelock import FileLock  # noqa: PLC0415
            from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook  # noqa: PLC0415

            self._plugin = MlflowHook()
            # The first run creates the local store (sqlite tables, migrations): two runs
            # starting together must take turns, or both migrate and one fails.
            store = Path(context.project_path) / "mlruns"
            store.mkdir(exist_ok=True)
            with FileLock(store / ".setup.lock"):
                self._plugin.after_context_created(context)

    @hook_impl
    def after_catalog_created(  # noqa: PLR0917 - Kedro's hook signature
        self,
        catalog: Any,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        parameters: dict[str, Any],
        save_version: str,
        load_versions: dict[str, str],
    ) -> None:
        """Keep the catalog: versions and saved files are looked up in it."""
        self._catalog = catalog
        if self._plugin is not None:
            self._plugin.after_catalog_created(
                catalog, conf_catalog, conf_creds, parameters, save_version, load_versions
            )

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Open the mlflow run (kedro-mlflow), unless tracking is off."""
        self._run_id, self._versions = None, {}
        if self._plugin is None:
            logger.info("Experiment tracking is off (tracking.enabled: false).")
            return
        self._plugin.before_pipeline_run(run_params, pipeline, catalog)
        self._run_id = self._plugin.run_id  # None: a pipeline of disable_tracking.pipelines
        if self._run_id is not None:
            from mlflow import MlflowClient  # noqa: PLC0415

            self._client = MlflowClient(self._plugin.mlflow_config.server.mlflow_tracking_uri)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any]) -> None:
        """Log the node's parameters (kedro-mlflow) and tag the versions of its inputs."""
        if self._run_id is None:
            return
        self._plugin.before_node_run(node, catalog, inputs, is_async=False)
        self._tag_versions({name: load_version(catalog, name) for name in node.inputs})

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        """Tag the saved version; log the dataset's metrics or its file when it is tracked."""
        if self._run_id is None:
            return
        dataset = versioned_dataset(self._catalog, dataset_name)
        if dataset is not None:
            self._tag_versions({dataset_name: dataset.resolve_save_version()})
        if dataset_name in self._settings.get("metrics", []):
            self._log_metrics(dataset_name, data)
        if dataset_name in self._settings.get("artifacts", []):
            self._log_artifact(dataset_name, dataset)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Close the run (kedro-mlflow) and say where it is."""
        if self._run_id is None:
            return
        self._plugin.after_pipeline_run(run_params, pipeline, catalog)
        uri = self._plugin.mlflow_config.server.mlflow_tracking_uri
        logger.info("Tracked as mlflow run %s in %s (kedro mlflow ui).", self._run_id, uri)
        self._run_id = None

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        """Close the run as FAILED (kedro-mlflow); what was logged before the error stays."""
        if self._run_id is None:
            return
        self._plugin.on_pipeline_error(error, run_params, pipeline, catalog)
        self._run_id = None

    def _tag_versions(self, versions: dict[str, str | None]) -> None:
        new = {n: v for n, v in versions.items() if v and self._versions.get(n) != v}
        if not new:
            return
        self._versions.update(new)
        from mlflow.entities import RunTag  # noqa: PLC0415

        tags = [RunTag(VERSION_TAG.format(name), version) for name, version in new.items()]
        self._client.log_batch(self._run_id, tags=tags)

    def _log_metrics(self, dataset_name: str, data: Any) -> None:
        from mlflow.entities import Metric  # noqa: PLC0415

        now = int(time.time() * 1000)
        metrics = [
            Metric(key, value, now, step) for key, value, step in metrics_of(dataset_name, data)
        ]
        for start in range(0, len(metrics), 1000):  # mlflow's limit per batch
            self._client.log_batch(self._run_id, metrics=metrics[start : start + 1000])
        logger.info("Logged %d metrics of %s to mlflow.", len(metrics), dataset_name)

    def _log_artifact(self, dataset_name: str, dataset: Any) -> None:
        if dataset is None:
            logger.warning("tracking.artifacts: '%s' is not a versioned dataset.", dataset_name)
            return
        path = version_path(dataset, dataset.resolve_save_version())
        if not path.is_file():  # a remote filesystem or a directory dataset
            logger.warning("tracking.artifacts: '%s' has no local file at %s.", dataset_name, path)
            return
        limit = float(self._settings.get("max_artifact_mb", 10))
        if path.stat().st_size > limit * _MIB:
            logger.warning(
                "tracking.artifacts: %s is %.1f MiB, over max_artifact_mb (%s): not logged.",
                path,
                path.stat().st_size / _MIB,
                limit,
            )
            return
        self._client.log_artifact(self._run_id, str(path), artifact_path=dataset_name)


def metrics_of(prefix: str, value: Any) -> list[tuple[str, float, int]]:
    """The numbers of a report as ``(metric name, value, step)``, names ``prefix.field.path``.

    Dictionaries are walked by key. A list of records that all have a ``step`` is a curve: each
    other number becomes that metric at that step (``train_loss: [{step, loss}]`` gives
    ``train_loss`` at each step; with several numbers, ``train_loss.<field>``). A list of records
    that all have a string ``model`` is walked by model. Other lists, booleans, None and text are
    left out.

    Args:
        prefix: The first part of every name (the dataset's name).
        value: The saved data: dicts, lists, numbers.

    Returns:
        The metrics, in the order found; the step is 0 outside curves.
    """
    return list(_walk(_metric_key(prefix), value, 0))


def _walk(key: str, value: Any, step: int) -> Iterator[tuple[str, float, int]]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        yield key, float(value), step
        return
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _walk(f"{key}.{_metric_key(str(name))}", item, step)
        return
    if not isinstance(value, list) or not value or not all(isinstance(r, dict) for r in value):
        return
    if all(isinstance(r.get("step"), int) for r in value):
        numbers = {n for r in value for n, v in r.items() if n != "step" and _is_number(v)}
        for record in value:
            for name in sorted(numbers):
                sub = key if len(numbers) == 1 else f"{key}.{_metric_key(name)}"
                yield from _walk(sub, record.get(name), record["step"])
    elif all(isinstance(r.get("model"), str) for r in value):
        for record in value:
            rest = {n: v for n, v in record.items() if n != "model"}
            yield from _walk(f"{key}.{_metric_key(record['model'])}", rest, step)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _metric_key(name: str) -> str:
    """mlflow allows letters, digits, ``_ - . / :`` and spaces in a metric name."""
    return re.sub(r"[^\w\-./: ]", "_", name)
