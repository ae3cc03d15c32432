"""The evaluation pipeline slice: every node on the tiny models through an in-memory catalog."""

from __future__ import annotations

import copy

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import JSONDataset as PandasJSONDataset

from python_tutor.pipelines.evaluation import create_pipeline


@pytest.mark.slow
def test_pipeline_slice_runs_end_to_end_on_the_tiny_models(  # noqa: PLR0913, PLR0917 - fixtures
    tutor_test, problems, humaneval_es, raw_params, tiny_llama_dir, lora_dir, tmp_path
):
    """Every node; the GGUF absent (an optional dataset's False)."""
    inputs = {
        "tutor_test": tutor_test,
        "evaluation_problems": problems,
        "humaneval_es": humaneval_es,
        "base_model": tiny_llama_dir,
        "lora_adapter": lora_dir,
        "gguf_model": False,
        "ollama_modelfile": "",
    }
    params = copy.deepcopy(raw_params)
    flat = {"params:evaluation." + key: value for key, value in params.items()}
    flat["params:evaluation.scoring.target_language"] = params["scoring"]["target_language"]
    flat["params:evaluation.scoring.statistics"] = params["scoring"]["statistics"]
    datasets = {k: MemoryDataset(v) for k, v in {**inputs, **flat}.items()}
    datasets["evaluation_metrics"] = JSONDataset(filepath=str(tmp_path / "metrics.json"))
    datasets["evaluation_comparisons"] = JSONDataset(filepath=str(tmp_path / "comparisons.json"))
    datasets["evaluation_samples"] = PandasJSONDataset(
        filepath=str(tmp_path / "samples.jsonl"),
        load_args={"lines": True, "orient": "records"},
        save_args={"lines": True, "orient": "records", "force_ascii": False},
    )
    catalog = DataCatalog(datasets)
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    assert {"evaluation_report", "evaluation_quality_plot"} <= set(outputs)
    metrics = catalog["evaluation_metrics"].load()
    assert [row["model"] for row in metrics] == ["base", "fine_tuned", "gguf"]
    assert metrics[2]["measured"] is False
    assert metrics[1]["pass_at_1_humaneval"]["total"] == 1
    report = outputs["evaluation_report"].load()
    assert "## Verdict" in report and str(lora_dir) not in report
    assert "…/" + "/".join(lora_dir.parts[-2:]) in report
    samples = catalog["evaluation_samples"].load()
    assert {"base_answer", "fine_tuned_answer"} <= set(samples.columns)
    assert {c["metric"] for c in catalog["evaluation_comparisons"].load()} >= {
        "pass@1 HumanEval-ES",
        "chrF per tutor answer",
    }
