"""The per-model nodes on the tiny LLaMA (+ a real LoRA, + a real GGUF) and fake llama.cpp."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from python_tutor.modelfile import gguf_prompts, parse_modelfile
from python_tutor.pipelines.evaluation.generation import (
    SETS,
    _prompt_chats,
    evaluate_base_model,
    evaluate_fine_tuned_model,
    evaluate_gguf_model,
    shown_path,
)
from python_tutor.pipelines.evaluation.models import generate_gguf

from .cases import MODELFILE_SYSTEM, PROBLEMS, QUESTIONS, SYSTEM, modelfile_text


class TestShownPath:
    def test_a_path_inside_the_project_is_relative_to_its_root(self, tmp_path):
        artifact = tmp_path / "data/06_models/lora_adapter/2026-12-02T08.59.41.726Z/lora_adapter"
        assert shown_path(artifact, tmp_path) == (
            "data/06_models/lora_adapter/2026-12-02T08.59.41.726Z/lora_adapter"
        )

    def test_the_root_defaults_to_where_kedro_runs(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert shown_path(tmp_path / "data/06_models/tutor/x.gguf") == "data/06_models/tutor/x.gguf"

    def test_a_path_outside_the_project_keeps_no_machine_prefix(self, tmp_path):
        shown = shown_path("/home/someone/models/base/model.gguf", tmp_path)
        assert shown == "…/base/model.gguf" and "someone" not in shown


@pytest.mark.slow
class TestTransformersModels:
    def test_base_and_fine_tuned_answer_every_prompt_and_differ_in_loss(
        self, prompts, tiny_llama_dir, lora_dir, params
    ):
        runtime, generation = params["runtime"], params["generation"]
        base = evaluate_base_model(prompts, tiny_llama_dir, runtime, generation)
        tuned = evaluate_fine_tuned_model(prompts, tiny_llama_dir, lora_dir, runtime, generation)
        for outputs in (base, tuned):
            assert len(outputs["tutor_answers"]) == len(QUESTIONS)
            assert len(outputs["problems_answers"]) == len(PROBLEMS)
            assert len(outputs["humaneval_answers"]) == 1
            assert all(0 < a["new_tokens"] <= 6 for a in outputs["tutor_answers"])
            assert math.isfinite(outputs["loss"]["loss"])
        assert base["loss"]["loss"] != pytest.approx(tuned["loss"]["loss"])
        assert tuned["artifact"]["provenance"]["chat_template"] == "chatml"
        # Outside the project root, a path is shown by its last two parts only.
        assert tuned["artifact"]["base_path"] == "…/" + "/".join(tiny_llama_dir.parts[-2:])

    @pytest.mark.parametrize(
        ("torch_dtype", "cpu_bf16", "expected", "warned"),
        [
            ("auto", True, "bfloat16", False),
            ("auto", False, "float32", False),
            ("bfloat16", False, "bfloat16", True),  # explicit: kept, called slow
        ],
    )
    def test_torch_dtype_goes_through_the_precision_rule(  # noqa: PLR0913, PLR0917
        self, tiny_llama_dir, params, monkeypatch, caplog, torch_dtype, cpu_bf16, expected, warned
    ):
        import torch

        from python_tutor import precision
        from python_tutor.pipelines.evaluation.models import load_transformers_model

        support = precision.NativeSupport(
            cuda=False, cuda_bf16=False, cpu_bf16=cpu_bf16, cpu_fp16=False
        )
        monkeypatch.setattr(precision, "probe", lambda: support)
        monkeypatch.setattr(precision, "_WARNED", set())
        runtime = {**params["runtime"], "torch_dtype": torch_dtype}
        with caplog.at_level("WARNING", logger="python_tutor.precision"):
            loaded = load_transformers_model(tiny_llama_dir, None, runtime)
        assert loaded.model.dtype == getattr(torch, expected)
        assert loaded.precision.torch_name == expected
        messages = [r.getMessage() for r in caplog.records]
        assert any("evaluation.runtime.torch_dtype" in m for m in messages) == warned

    def test_loss_scores_exactly_the_assistant_tokens(self, prompts, tiny_llama_dir, params):
        from transformers import AutoTokenizer

        from python_tutor.pipelines.evaluation.models import (
            assistant_loss,
            load_transformers_model,
        )

        loaded = load_transformers_model(tiny_llama_dir, None, params["runtime"])
        loss = assistant_loss(loaded, prompts["loss_conversations"], 256)
        tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
        expected = sum(
            len(tokenizer(answer + "<|im_end|>\n", add_special_tokens=False)["input_ids"])
            for _, _, answer in QUESTIONS
        )
        assert loss["scored_tokens"] == expected
        assert loss["perplexity"] == pytest.approx(math.exp(loss["loss"]))
        short = assistant_loss(loaded, prompts["loss_conversations"], 8)
        assert short["truncated"] == len(QUESTIONS) and short["scored_tokens"] < expected


class FakeLlama:
    """Records what llama.cpp would be asked, and answers with a fixed text."""

    def __init__(self):
        self.prompts: list[str] = []
        self.stops: list[list[str]] = []

    def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
        assert add_bos is False and special is True
        self.prompts.append(text.decode("utf-8"))
        return [1, 2, 3]

    def create_completion(self, tokens, max_tokens, temperature, stop):
        assert temperature == 0.0
        self.stops.append(stop)
        return {"choices": [{"text": " Hola "}], "usage": {"completion_tokens": 2}}

    def reset(self):
        pass


class TestGGUF:
    def test_prompts_use_the_modelfiles_template_and_system_not_the_chats(self, prompts):
        modelfile = parse_modelfile(modelfile_text(Path("x.gguf")))
        chats = _prompt_chats(prompts)
        texts = gguf_prompts(modelfile, chats)
        assert all(t.startswith(f"<|im_start|>system\n{MODELFILE_SYSTEM}<|im_end|>") for t in texts)
        assert all(SYSTEM not in text for text in texts)
        assert texts[0].endswith(f"user\n{QUESTIONS[0][1]}<|im_end|>\n<|im_start|>assistant\n")
        llama = FakeLlama()
        answers = generate_gguf(llama, texts, modelfile["stop"], {"max_new_tokens": 5})
        assert llama.prompts == texts
        assert llama.stops[0] == ["<|im_end|>", "<|im_start|>"]
        assert answers[0].text == "Hola" and answers[0].new_tokens == 2

    def test_a_different_modelfile_template_changes_the_prompt(self, prompts):
        modelfile = {"template": "[{{ .System }}] {{ .Prompt }} =>", "system": "S"}
        assert gguf_prompts(modelfile, [prompts["tutor"][0]["messages"][:-1]]) == [
            f"[S] {QUESTIONS[0][1]} =>"
        ]

    def test_a_modelfile_without_template_is_refused(self, prompts):
        with pytest.raises(ValueError, match="no TEMPLATE"):
            gguf_prompts({"system": "S"}, _prompt_chats(prompts))

    def test_an_absent_gguf_is_reported_as_not_measured(self, prompts, params):
        outputs = evaluate_gguf_model(prompts, False, None, params["runtime"], {})
        assert outputs == {
            "model": "gguf",
            "measured": False,
            "reason": "no gguf_model/ollama_modelfile",
        }

    @pytest.mark.slow
    def test_the_real_gguf_answers_through_llama_cpp(self, prompts, tiny_gguf, params):
        outputs = evaluate_gguf_model(
            prompts, tiny_gguf, modelfile_text(tiny_gguf), params["runtime"], params["generation"]
        )
        assert outputs["measured"] is True
        assert outputs["artifact"]["system_prompt"] == MODELFILE_SYSTEM
        answers = [a for s in SETS for a in outputs[f"{s}_answers"]]
        assert len(answers) == len(QUESTIONS) + len(PROBLEMS) + 1
        assert all(0 < a["new_tokens"] <= 6 and a["seconds"] > 0 for a in answers)
