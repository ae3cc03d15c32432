"""The training pipeline end to end on the tiny model: adapter, provenance, metrics, plot,
and versions (a second run makes a second adapter; the first stays loadable)."""

from __future__ import annotations

import json

import pytest
from kedro.io import DataCatalog, MemoryDataset, Version
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from matplotlib.figure import Figure

from python_tutor.datasets.model_directory import ModelDirectoryDataset
from python_tutor.datasets.run_scratch import RunScratchDataset
from python_tutor.pipelines.training import create_pipeline
from python_tutor.pipelines.training.nodes import plot_training_loss, train_lora_adapter


def catalog_for(tmp_path, tutor_train, tutor_val, base_model, params):
    entries = {
        "tutor_train": MemoryDataset(tutor_train),
        "tutor_val": MemoryDataset(tutor_val),
        "base_model": MemoryDataset(base_model, copy_mode="assign"),
        "training_scratch": RunScratchDataset(path=str(tmp_path / "scratch")),
        "lora_adapter": ModelDirectoryDataset(
            filepath=str(tmp_path / "06_models" / "lora_adapter"),
            marker="adapter_config.json",
            version=Version(None, None),
        ),
        "training_metrics": JSONDataset(filepath=str(tmp_path / "training_metrics.json")),
        "training_loss_plot": MatplotlibDataset(filepath=str(tmp_path / "loss.png")),
    }
    entries.update({f"params:training.{k}": MemoryDataset(v) for k, v in params.items()})
    return DataCatalog(entries)


@pytest.fixture(scope="module")
def two_runs(tiny_llama_dir, tmp_path_factory):
    """The pipeline run twice with the tiny model (the CPU fallbacks included)."""
    import pandas as pd

    from .conftest import conversation

    tmp_path = tmp_path_factory.mktemp("training_runs")
    train = pd.DataFrame([conversation(i) for i in range(8)])
    val = pd.DataFrame([conversation(i) for i in range(100, 104)])
    params = {
        "backend": "auto",
        "model": {"max_seq_length": 128, "load_in_4bit": True, "precision": "auto"},
        "lora": {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "sft": {
            "per_device_train_batch_size": 4,
            "max_steps": 4,
            "learning_rate": 1.0e-2,
            "optim": "adamw_8bit",
            "eval_strategy": "steps",
            "eval_steps": 2,
            "eval_on_start": True,
            "save_steps": 2,
            "logging_steps": 1,
            "disable_tqdm": True,
        },
        "run": {"checkpoint_dir": str(tmp_path / "checkpoints"), "resume": True},
    }
    catalog = catalog_for(tmp_path, train, val, tiny_llama_dir, params)
    SequentialRunner().run(create_pipeline(), catalog)
    first_metrics = catalog.load("training_metrics")
    SequentialRunner().run(create_pipeline(), catalog)
    return tmp_path, params, first_metrics, catalog.load("training_metrics")


@pytest.mark.slow
class TestTrainingPipeline:
    def test_adapter_holds_weights_tokenizer_template_and_provenance(
        self, two_runs, tiny_llama_dir
    ):
        tmp_path, params, _, _ = two_runs
        adapter = ModelDirectoryDataset(
            filepath=str(tmp_path / "06_models" / "lora_adapter"),
            marker="adapter_config.json",
            version=Version(None, None),
        ).load()
        names = {p.name for p in adapter.iterdir()}
        assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= names
        assert "chat_template.jinja" in names or "chat_template" in (
            json.loads((adapter / "tokenizer_config.json").read_text())
        )
        provenance = json.loads((adapter / "provenance.json").read_text())
        assert provenance["parameters"]["sft"] == params["sft"]
        assert provenance["parameters"]["lora"] == params["lora"]
        assert provenance["plan"]["backend"] == "hf"
        assert provenance["plan"]["optim"] == "adamw_torch"
        assert not provenance["plan"]["load_in_4bit"]
        assert any("adamw_8bit" in note for note in provenance["plan"]["fallbacks"])
        assert provenance["base_model"]["path"] == str(tiny_llama_dir)
        assert provenance["chat_template"] == "chatml"
        assert provenance["data"]["tutor_train"]["conversations"] == 8
        assert len(provenance["data"]["tutor_val"]["sha256"]) == 64
        assert provenance["global_step"] == 4
        assert {"torch", "transformers", "peft", "trl"} <= set(provenance["libraries"])
        config = json.loads((adapter / "adapter_config.json").read_text())
        assert config["r"] == 4 and set(config["target_modules"]) == {"q_proj", "v_proj"}

    def test_metrics_show_the_run_and_the_loss_falling(self, two_runs):
        _, _, metrics, _ = two_runs
        assert [p["step"] for p in metrics["train_loss"]] == [1, 2, 3, 4]
        assert [p["step"] for p in metrics["val_loss"]] == [0, 2, 4]
        assert metrics["last_val_loss"] < metrics["first_val_loss"]
        assert metrics["tokens_this_run"] > 0 and metrics["tokens_per_second"] > 0
        assert metrics["peak_memory_bytes"] > 0 and metrics["peak_memory_kind"] == "cpu_rss_peak"
        assert metrics["duration_seconds"] >= metrics["train_seconds"] > 0
        assert metrics["steps_this_run"] == 4 and metrics["resumed_from_step"] == 0

    def test_second_run_is_a_second_version_and_the_first_stays_loadable(self, two_runs):
        tmp_path, _, first, second = two_runs
        root = tmp_path / "06_models" / "lora_adapter"
        versions = sorted(p.name for p in root.iterdir())
        assert len(versions) == 2
        # a finished run leaves no checkpoints, so the second run trained from scratch
        assert second["resumed_from_step"] == 0 and second["steps_this_run"] == 4
        assert first["train_loss"] == second["train_loss"]  # same seed, same data
        pinned = ModelDirectoryDataset(
            filepath=str(root), marker="adapter_config.json", version=Version(versions[0], None)
        ).load()
        assert pinned.parent.name == versions[0]
        assert (pinned / "provenance.json").is_file()
        assert (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")


def test_node_names_follow_the_convention():
    assert {node.name for node in create_pipeline().nodes} == {
        "train_lora_adapter_node",
        "plot_training_loss_node",
    }


@pytest.mark.parametrize(
    ("env", "chat_template", "max_seq_length", "optim"),
    [
        ("local", "model", 512, "adamw_8bit"),  # CPU falls back to adamw_torch, logged
        ("gpu", "llama-3.1", 2048, "adamw_torch_fused"),
    ],
)
def test_conf_gives_every_block_and_agrees_with_globals(
    project_root, env, chat_template, max_seq_length, optim
):
    """Both environments resolve (globals included) to the blocks the node reads."""
    from kedro.config import OmegaConfigLoader

    from python_tutor.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(project_root / "conf"), env=env, **CONFIG_LOADER_ARGS)
    params = loader["parameters"]["training"]
    wanted = {i.split(".", 1)[1] for i in create_pipeline().inputs() if i.startswith("params:")}
    assert wanted == set(params)
    assert params["model"]["chat_template"] == chat_template
    assert params["model"]["max_seq_length"] == max_seq_length
    assert params["sft"]["optim"] == optim


def test_sft_keys_that_the_plan_owns_are_refused(tutor_train, tutor_val, training_params, tmp_path):
    training_params["sft"]["bf16"] = True
    with pytest.raises(ValueError, match=r"training.sft.bf16.*training.model.precision"):
        train_lora_adapter(
            tutor_train=tutor_train,
            tutor_val=tutor_val,
            base_model=None,
            scratch=tmp_path,
            **training_params,
        )


def test_unknown_sft_keys_are_refused(tutor_train, tutor_val, training_params, tmp_path):
    training_params["sft"]["learning_rates"] = 1.0
    with pytest.raises(ValueError, match=r"training.sft.learning_rates.*not a trl.SFTConfig"):
        train_lora_adapter(
            tutor_train=tutor_train,
            tutor_val=tutor_val,
            base_model=None,
            scratch=tmp_path,
            **training_params,
        )


def test_plot_shows_both_curves():
    figure = plot_training_loss(
        {
            "backend": "hf",
            "precision": "bf16",
            "train_loss": [{"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.5}],
            "val_loss": [{"step": 0, "loss": 3.1}, {"step": 2, "loss": 2.7}],
        }
    )
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    assert [line.get_label() for line in axes.lines] == ["train", "validation"]
    assert list(axes.lines[1].get_xdata()) == [0, 2]


def test_plot_without_points_is_an_error():
    with pytest.raises(ValueError, match="no train_loss or val_loss"):
        plot_training_loss({"train_loss": [], "val_loss": []})
