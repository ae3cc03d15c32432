"""Parameters that look like secrets are refused when a run starts; every shipped knob passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from python_tutor.secret_parameters import (
    SecretParameterError,
    looks_like_secret,
    secret_like_keys,
)
from python_tutor.settings import CONFIG_LOADER_ARGS


def shipped_parameters(project_root: Path, env: str) -> dict:
    """The parameters of an environment as Kedro merges them (conf/base + conf/<env>)."""
    loader = OmegaConfigLoader(
        conf_source=str(project_root / "conf"),
        env=env,
        **{k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"},
    )
    return loader["parameters"]


def key_names(params) -> set[str]:
    if isinstance(params, dict):
        return set(params) | {n for v in params.values() for n in key_names(v)}
    if isinstance(params, list):
        return {n for v in params for n in key_names(v)}
    return set()


@pytest.mark.parametrize("env", ["base", "gpu"])
def test_every_shipped_parameter_passes(project_root, env):
    params = shipped_parameters(project_root, env)
    names = key_names(params)
    # the rule is only worth something if knobs that mention the words are really there
    assert {"max_new_tokens", "min_next_token_agreement", "continuation_tokens"} <= names
    assert list(secret_like_keys(params)) == []


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "apikey",
        "KAGGLE_KEY",
        "hf_token",
        "authToken",
        "access-token",
        "client_secret",
        "password",
        "db_passwd",
        "token",
        "secret",
    ],
)
def test_names_of_secrets_are_caught(name):
    assert looks_like_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_new_tokens",
        "min_next_token_agreement",
        "continuation_tokens",
        "tokenizer",
        "keep_checkpoints",
        "key_column",
        "secret_file_hint",
    ],
)
def test_knobs_that_only_mention_the_words_pass(name):
    assert not looks_like_secret(name)


def test_paths_name_the_key_at_any_depth():
    params = {
        "translation": {"backend": {"web": {"options": {"api_key": "x", "timeout": 5}}}},
        "ingestion": {"sources": [{"name": "a"}, {"name": "b", "hf_token": "y"}]},
    }
    assert sorted(secret_like_keys(params)) == [
        "ingestion.sources[1].hf_token",
        "translation.backend.web.options.api_key",
    ]


def test_a_run_with_a_secret_parameter_is_refused_before_anything_is_written(
    project, run_project, capfd
):
    canary = "sk-canary-4f1d0c9e7b2a"
    before = {p for p in project.rglob("*")}
    with pytest.raises(SecretParameterError) as refused:
        run_project(
            pipeline_names=["ingestion"],
            runtime_params={"translation": {"backend": {"web": {"options": {"api_key": canary}}}}},
        )
    message = str(refused.value)
    assert "translation.backend.web.options.api_key" in message
    assert "conf/local/credentials.yml" in message
    assert canary not in message
    assert {p for p in project.rglob("*")} == before  # no mlflow store, no data, no lineage
    assert canary not in "".join(capfd.readouterr())
