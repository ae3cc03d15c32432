"""The per-model nodes on the tiny LLaMA (+ a real LoRA, + a real GGUF) and fake llama.cpp."""

from __future__ import annotations

import math

import pytest

from python_tutor.chat_templates import BUILTIN
from python_tutor.modelfile import render_modelfile
from python_tutor.pipelines.evaluation.generation import (
    SETS,
    evaluate_base_model,
    evaluate_fine_tuned_model,
    evaluate_gguf_model,
    shown_path,
)
from tests.conftest import trained_prompt_ids

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


class TestGGUF:
    @pytest.mark.slow
    def test_answers_take_the_modelfiles_persona_stops_and_sampling(
        self, prompts, trained_tutor, params, completion_calls
    ):
        """The chat's own system turn gives way to the Modelfile's; every PARAMETER reaches
        llama.cpp, and the answer length is evaluation's, as for the other models."""
        from transformers import AutoTokenizer

        checkpoint, gguf = trained_tutor("chatml")
        sampling = {"temperature": 0.3, "top_p": 0.8, "top_k": 20, "repeat_penalty": 1.2}
        text = render_modelfile(gguf.name, BUILTIN["chatml"], MODELFILE_SYSTEM, sampling)
        outputs = evaluate_gguf_model(prompts, gguf, text, params["runtime"], params["generation"])
        assert len(completion_calls) == len(QUESTIONS) + len(PROBLEMS) + 1  # + HumanEval-ES
        decode = AutoTokenizer.from_pretrained(checkpoint).decode
        texts = [decode(ids) for ids, _ in completion_calls]
        kwargs = completion_calls[0][1]
        assert texts[0] == (
            f"<|im_start|>system\n{MODELFILE_SYSTEM}<|im_end|>\n"
            f"<|im_start|>user\n{QUESTIONS[0][1]}<|im_end|>\n<|im_start|>assistant\n"
        )
        assert all(SYSTEM not in prompt for prompt in texts)
        assert kwargs == {
            **sampling,
            "min_p": 0.0,
            "max_tokens": 6,
            "stop": list(BUILTIN["chatml"].stop),
        }
        assert outputs["measured"] is True

    @pytest.mark.slow
    def test_the_gguf_gets_the_tokens_training_gave_bos_included(
        self, prompts, trained_tutor, params, completion_calls
    ):
        """LLaMA 3 layout: llama.cpp must see <|begin_of_text|> first, as the trainer did."""
        from transformers import AutoTokenizer

        checkpoint, gguf = trained_tutor("llama-3.1")
        text = render_modelfile(gguf.name, BUILTIN["llama-3.1"], MODELFILE_SYSTEM, {})
        evaluate_gguf_model(prompts, gguf, text, params["runtime"], params["generation"])
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        question = prompts["tutor"][0]["messages"][-2]["content"]  # before the reference
        trained = trained_prompt_ids(
            tokenizer,
            [
                {"role": "system", "content": MODELFILE_SYSTEM},
                {"role": "user", "content": question},
            ],
        )
        assert trained[0] == tokenizer.bos_token_id
        assert completion_calls[0][0] == trained

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
