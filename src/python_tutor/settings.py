"""Project settings, near Kedro's defaults.

Configuration: ``conf/base`` holds the CPU/offline defaults, ``conf/gpu`` the overrides for
``kedro run --env gpu`` and ``conf/local`` (git-ignored) secrets and personal overrides.
"""

from kedro.config import OmegaConfigLoader

from python_tutor.hooks import LineageHooks, PinnedVersionsHooks

HOOKS = (LineageHooks(), PinnedVersionsHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Rollback pins (`kedro tutor rollback`), read by PinnedVersionsHooks.
    "config_patterns": {"pins": ["pins*"]},
}
