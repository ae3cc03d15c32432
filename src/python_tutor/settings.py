"""Project settings, near Kedro's defaults.

Configuration: ``conf/base`` holds the CPU/offline defaults, ``conf/gpu`` the overrides for
``kedro run --env gpu`` and ``conf/local`` (git-ignored) secrets and personal overrides.
"""

from pathlib import Path

from kedro.config import OmegaConfigLoader

from python_tutor.hooks import LineageHooks, OwnVersionsHooks, PinnedVersionsHooks, ScratchHooks
from python_tutor.parameters.validation import ParameterValidationHooks
from python_tutor.secret_parameters import SecretParametersHooks
from python_tutor.tracking import TrackingHooks

# Both parameter checks run first (tryfirst), before tracking opens its store; pluggy calls the
# later registered of the two first, so a secret is refused as a secret before any other check.
HOOKS = (
    ParameterValidationHooks(),
    SecretParametersHooks(),
    LineageHooks(),
    OwnVersionsHooks(),
    PinnedVersionsHooks(),
    TrackingHooks(),
    ScratchHooks(),
)

# kedro-mlflow's hook runs inside TrackingHooks, which can turn it off (tracking.enabled). Kedro
# matches the distribution's metadata name: "kedro_mlflow" in 2.0.3, "kedro-mlflow" before.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow", "kedro-mlflow")

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Rollback pins (`kedro tutor rollback`), read by PinnedVersionsHooks.
    "config_patterns": {"pins": ["pins*"]},
    # conf/<env> parameter files are merged into conf/base's key by key ("soft"), so an
    # environment holds only the knobs it changes (Kedro's default replaces whole top-level keys).
    "merge_strategy": {"parameters": "soft"},
    # ${cwd:}: the folder kedro runs in (the project root), which data/ paths are relative to;
    # mlflow.yml anchors its local store there.
    "custom_resolvers": {"cwd": lambda: Path.cwd().as_posix()},
}
