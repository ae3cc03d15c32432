"""Parameters are checked once, at load: each problem named by its key and the file that set it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from python_tutor.parameters.validation import (
    MODELS,
    ParametersError,
    ParameterSources,
    validate_parameters,
)
from python_tutor.secret_parameters import SecretParameterError
from python_tutor.settings import CONFIG_LOADER_ARGS


def load(conf: Path, env: str, runtime_params: dict | None = None):
    loader = OmegaConfigLoader(
        conf_source=str(conf), env=env, runtime_params=runtime_params, **CONFIG_LOADER_ARGS
    )
    return loader["parameters"], ParameterSources.of(loader)


def edit_yaml(path: Path, change) -> None:
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(content)
    path.write_text(yaml.safe_dump(content), encoding="utf-8")


@pytest.mark.parametrize("env", ["local", "gpu"])
def test_every_shipped_environment_passes(project_root, env):
    params, sources = load(project_root / "conf", env)
    assert set(params) == set(MODELS)
    validate_parameters(params, sources)


def test_a_typo_in_conf_gpu_is_named_with_that_file(project):
    edit_yaml(
        project / "conf/gpu/parameters_training.yml",
        lambda c: c["training"]["sft"].update(learing_rate=1e-4),
    )
    params, sources = load(project / "conf", "gpu")
    with pytest.raises(ParametersError) as err:
        validate_parameters(params, sources)
    assert str(err.value) == (
        "Invalid parameter training.sft.learing_rate: Extra inputs are not permitted "
        "(conf/gpu/parameters_training.yml)"
    )


def test_every_problem_is_listed_with_its_value_and_source(project):
    def break_base(content):
        content["translation"]["retry"]["retry_on"] = ["timeout", "teapot"]
        content["translation"]["quality"]["on_bad_translation"] = "ignore"
        content["translation"]["workers"] = 0

    edit_yaml(project / "conf/base/parameters_translation.yml", break_base)
    edit_yaml(
        project / "conf/base/parameters_ingestion.yml",
        lambda c: c["ingestion"]["sources"][1].update(langauge="es"),
    )
    params, sources = load(
        project / "conf", "local", {"training": {"sft": {"max_steps": "3"}}, "evaluaton": 1}
    )
    with pytest.raises(ParametersError) as err:
        validate_parameters(params, sources)
    problems = str(err.value).splitlines()[1:]
    base = "conf/base/parameters_translation.yml"
    assert len(problems) == 6
    assert problems[0].startswith("  - evaluaton: not a parameters block of this project")
    assert (
        "  - ingestion.sources[1].langauge: Extra inputs are not permitted "
        "(conf/base/parameters_ingestion.yml)"
    ) in problems
    assert any(
        p.startswith("  - translation.retry.retry_on[1]: Input should be 'timeout',")
        and p.endswith(f"; got 'teapot' ({base})")
        for p in problems
    )
    assert f"  - translation.workers: Input should be greater than 0; got 0 ({base})" in problems
    assert any(
        p.startswith("  - translation.quality.on_bad_translation: Input should be 'flag' or")
        and p.endswith(f"got 'ignore' ({base})")
        for p in problems
    )
    assert "  - training.sft.max_steps: Input should be a valid integer; got '3' (--params)" in (
        problems
    )


def test_a_value_that_fits_no_member_of_a_union_is_one_line(shipped):
    shipped["training"]["sft"]["pad_to_multiple_of"] = 0
    with pytest.raises(ParametersError) as err:
        validate_parameters(shipped, ParameterSources([], {}))
    assert str(err.value) == (
        "Invalid parameter training.sft.pad_to_multiple_of: Input should be greater than 0; "
        "got 0 | Input should be 'auto'; got 0 (no parameters file)"
    )


def test_a_missing_knob_names_the_file_of_its_block(project):
    edit_yaml(
        project / "conf/base/parameters_export.yml",
        lambda c: c["export"]["fidelity"].pop("n_ctx"),
    )
    params, sources = load(project / "conf", "local")
    with pytest.raises(
        ParametersError,
        match=r"export\.fidelity\.n_ctx: Field required "
        r"\(conf/base/parameters_export\.yml\)",
    ):
        validate_parameters(params, sources)


def test_a_run_with_a_misspelt_knob_stops_before_anything_is_written(project, run_project):
    before = set(project.rglob("*"))
    with pytest.raises(ParametersError, match=r"training\.sft\.max_step: .* \(--params\)"):
        run_project(runtime_params={"training.sft.max_step": 1}, pipeline_name="ingestion")
    assert set(project.rglob("*")) == before  # no mlflow store, no data, no lineage


def test_a_secret_in_an_unknown_key_is_refused_as_a_secret(project, run_project):
    with pytest.raises(SecretParameterError, match=r"translation\.api_key"):
        run_project(runtime_params={"translation": {"api_key": "x"}}, pipeline_name="ingestion")
