"""Evaluation nodes on the tiny LLaMA (+ a real LoRA, + a real GGUF), and the pipeline slice."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import JSONDataset as PandasJSONDataset

from python_tutor.chat_templates import BUILTIN
from python_tutor.modelfile import render_modelfile
from python_tutor.pipelines.evaluation import create_pipeline
from python_tutor.pipelines.evaluation import nodes as n
from tests.adapters import make_adapter
from tests.conftest import trained_prompt_ids

SYSTEM = "Eres un tutor de Python. Responde en español."
MODELFILE_SYSTEM = "Eres el tutor desplegado: responde siempre en español, con ejemplos."
QUESTIONS = [
    ("qa", "¿Qué es una lista en Python?", "Una lista es una secuencia mutable de elementos."),
    ("explain", "Explica `len([1, 2])`.", "Devuelve 2, el número de elementos de la lista."),
    (
        "generate",
        "Escribe una función que sume.",
        "```python\ndef suma(a, b):\n    return a + b\n```",
    ),
]
PROBLEMS = [
    {
        "problem_id": "t_002",
        "entry_point": "doble",
        "signature": "def doble(x: int) -> int:",
        "statement": "Devuelve el doble de un número.",
        "tests": "assert doble(2) == 4\nassert doble(-1) == -2\n",
    },
    {
        "problem_id": "t_001",
        "entry_point": "saludo",
        "signature": "def saludo(nombre: str) -> str:",
        "statement": "Devuelve 'Hola, ' seguido del nombre.",
        "tests": "assert saludo('Ana') == 'Hola, Ana'\n",
    },
]


@pytest.fixture(scope="module")
def params(project_root) -> dict:
    """The shipped parameters, shrunk for the tiny model."""
    text = (project_root / "conf/base/parameters_evaluation.yml").read_text(encoding="utf-8")
    text = text.replace("${globals:chat_template}", "model").replace(
        "${globals:max_seq_length}", "256"
    )
    params = yaml.safe_load(text)["evaluation"]
    params["generation"]["max_new_tokens"] = 6
    params["scoring"]["sandbox"]["timeout_s"] = 3.0
    return params


@pytest.fixture
def tutor_test() -> pd.DataFrame:
    rows = []
    for index, (task, question, answer) in enumerate(QUESTIONS):
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
        rows.append({"example_id": f"{index:016x}", "task": task, "messages": messages})
    return pd.DataFrame(rows)


@pytest.fixture
def problems() -> pd.DataFrame:
    return pd.DataFrame(PROBLEMS)


@pytest.fixture
def prompts(tutor_test, problems, params) -> dict:
    return n.build_evaluation_prompts(tutor_test, problems, params["selection"])


@pytest.fixture(scope="session")
def lora_dir(tiny_llama_dir, tmp_path_factory) -> Path:
    return make_adapter(tiny_llama_dir, tmp_path_factory.mktemp("eval_adapter"))


def modelfile_text(gguf: Path) -> str:
    return render_modelfile(gguf.name, BUILTIN["chatml"], MODELFILE_SYSTEM, {"temperature": 0})


class TestBuildPrompts:
    def test_selection_is_sorted_and_bounded_and_problems_get_the_trained_persona(
        self, tutor_test, problems, params
    ):
        selection = {**params["selection"], "max_tutor_examples": 2, "max_problems": 1}
        prompts = n.build_evaluation_prompts(tutor_test[::-1], problems, selection)
        assert [item["id"] for item in prompts["tutor"]] == [f"{0:016x}", f"{1:016x}"]
        assert prompts["tutor"][0]["reference"] == QUESTIONS[0][2]
        assert [item["id"] for item in prompts["problems"]] == ["t_001"]
        system, user = prompts["problems"][0]["messages"]
        assert system == {"role": "system", "content": SYSTEM}
        assert "def saludo(nombre: str) -> str:" in user["content"]
        assert prompts["data"]["problems"] == 1 and prompts["data"]["tutor_test_rows"] == 3

    def test_the_fingerprint_names_the_data_measured(self, tutor_test, problems, params):
        one = n.build_evaluation_prompts(tutor_test, problems, params["selection"])
        other = n.build_evaluation_prompts(tutor_test.iloc[:2], problems, params["selection"])
        assert one["data"]["tutor_test_fingerprint"] != other["data"]["tutor_test_fingerprint"]

    def test_a_conversation_without_an_assistant_answer_names_its_row(
        self, tutor_test, problems, params
    ):
        broken = tutor_test.copy()
        broken.at[1, "messages"] = broken.at[1, "messages"][:2]
        with pytest.raises(ValueError, match=r"`tutor_test` row 2 \(example_id 0+1\).*assistant"):
            n.build_evaluation_prompts(broken, problems, params["selection"])

    def test_a_problem_with_broken_tests_names_its_row_and_column(
        self, tutor_test, problems, params
    ):
        broken = problems.copy()
        broken.at[1, "tests"] = "assert saludo('Ana' =="
        with pytest.raises(ValueError, match=r"evaluation_problems row 2 \(t_001\).*'tests'"):
            n.build_evaluation_prompts(tutor_test, broken, params["selection"])

    def test_no_system_prompt_for_problems_is_an_error_naming_the_parameter(
        self, tutor_test, problems, params
    ):
        no_system = tutor_test.assign(messages=[m[1:] for m in tutor_test["messages"]])
        with pytest.raises(ValueError, match=r"evaluation\.selection\.problem_system"):
            n.build_evaluation_prompts(no_system, problems, params["selection"])


@pytest.mark.slow
class TestTransformersModels:
    def test_base_and_fine_tuned_answer_every_prompt_and_differ_in_loss(
        self, prompts, tiny_llama_dir, lora_dir, params
    ):
        runtime, generation = params["runtime"], params["generation"]
        base = n.evaluate_base_model(prompts, tiny_llama_dir, runtime, generation)
        tuned = n.evaluate_fine_tuned_model(prompts, tiny_llama_dir, lora_dir, runtime, generation)
        for outputs in (base, tuned):
            assert len(outputs["tutor_answers"]) == len(QUESTIONS)
            assert len(outputs["problem_answers"]) == len(PROBLEMS)
            assert all(0 < a["new_tokens"] <= 6 for a in outputs["tutor_answers"])
            assert math.isfinite(outputs["loss"]["loss"])
        assert base["loss"]["loss"] != pytest.approx(tuned["loss"]["loss"])
        assert tuned["artifact"]["provenance"]["chat_template"] == "chatml"
        assert tuned["artifact"]["base_path"] == str(tiny_llama_dir)

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
        outputs = n.evaluate_gguf_model(
            prompts, gguf, text, params["runtime"], params["generation"]
        )
        assert len(completion_calls) == len(QUESTIONS) + len(PROBLEMS)
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

    def test_an_absent_gguf_is_reported_as_not_measured(self, prompts, params):
        outputs = n.evaluate_gguf_model(prompts, False, None, params["runtime"], {})
        assert outputs == {
            "model": "gguf",
            "measured": False,
            "reason": "no gguf_model/ollama_modelfile",
        }

    @pytest.mark.slow
    def test_the_gguf_gets_the_tokens_training_gave_bos_included(
        self, prompts, trained_tutor, params, completion_calls
    ):
        """LLaMA 3 layout: llama.cpp must see <|begin_of_text|> first, as the trainer did."""
        from transformers import AutoTokenizer

        checkpoint, gguf = trained_tutor("llama-3.1")
        text = render_modelfile(gguf.name, BUILTIN["llama-3.1"], MODELFILE_SYSTEM, {})
        n.evaluate_gguf_model(prompts, gguf, text, params["runtime"], params["generation"])
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

    @pytest.mark.slow
    def test_the_real_gguf_answers_through_llama_cpp(self, prompts, tiny_gguf, params):
        outputs = n.evaluate_gguf_model(
            prompts, tiny_gguf, modelfile_text(tiny_gguf), params["runtime"], params["generation"]
        )
        assert outputs["measured"] is True
        assert outputs["artifact"]["system_prompt"] == MODELFILE_SYSTEM
        answers = outputs["tutor_answers"] + outputs["problem_answers"]
        assert len(answers) == len(QUESTIONS) + len(PROBLEMS)
        assert all(0 < a["new_tokens"] <= 6 and a["seconds"] > 0 for a in answers)


def fake_outputs(name: str, prompts: dict, tutor: list[str], problem: list[str]) -> dict:
    def answers(texts):
        return [{"text": t, "new_tokens": 10, "seconds": 0.5} for t in texts]

    return {
        "model": name,
        "measured": True,
        "artifact": {"path": f"data/06_models/{name}/2026-11-29T01.00.00.000Z/x", "version": None},
        "loss": {"loss": 2.0 if name == "base" else 1.5, "perplexity": 7.0, "scored_tokens": 9},
        "tutor_answers": answers(tutor),
        "problem_answers": answers(problem),
    }


SPANISH = "La función recorre la lista y suma cada elemento para devolver el total."
ENGLISH = "The function walks over the list and adds every element to return the total."
GOOD = {
    "t_001": "Aquí tienes la función que saluda por su nombre:\n\n"
    "```python\ndef saludo(nombre):\n    return 'Hola, ' + nombre\n```",
    "t_002": "Así se calcula el doble de un número entero:\n\n"
    "```python\ndef doble(x):\n    return 2 * x\n```",
}


class TestScoring:
    def test_metrics_follow_the_answers(self, prompts, params):
        order = [item["id"] for item in prompts["problems"]]
        base = fake_outputs(
            "base",
            prompts,
            [ENGLISH, ENGLISH, "```python\ndef suma(a, b) return\n```"],
            ["No sé.", "```python\nimport os\nwhile True:\n    os.fork()\n```"],
        )
        tuned = fake_outputs(
            "fine_tuned", prompts, [SPANISH, SPANISH, QUESTIONS[2][2]], [GOOD[i] for i in order]
        )
        gguf = {"model": "gguf", "measured": False, "reason": "no gguf_model/ollama_modelfile"}
        rows, samples = n.score_evaluation(prompts, base, tuned, gguf, params["scoring"])
        by = {row["model"]: row for row in rows}
        assert by["gguf"] == gguf
        # Code-only and too-short answers have no language: they are not counted.
        assert by["fine_tuned"]["es_answer_rate"] == {"rate": 1.0, "passed": 4, "total": 4}
        assert by["base"]["es_answer_rate"] == {"rate": 0.0, "passed": 0, "total": 2}
        assert by["fine_tuned"]["pass_at_1_problems"] == {"rate": 1.0, "passed": 2, "total": 2}
        assert by["base"]["pass_at_1_problems"] == {"rate": 0.0, "passed": 0, "total": 2}
        assert by["base"]["code_parse_rate"] == {"rate": 0.5, "passed": 1, "total": 2}
        assert by["base"]["code_run_rate"]["passed"] == 0
        assert by["fine_tuned"]["code_run_rate"] == {"rate": 1.0, "passed": 3, "total": 3}
        assert by["fine_tuned"]["chrf"] > by["base"]["chrf"]
        assert by["fine_tuned"]["tokens_per_second"] == pytest.approx(20.0)
        assert by["base"]["pass_at_1_tutor_test"] is None
        fork = samples.set_index("id").loc[order[1]]
        assert fork["base_run_status"] == "blocked" and fork["base_test_status"] == "blocked"
        assert list(samples.columns[:5]) == ["id", "kind", "task", "prompt", "reference"]
        assert len(samples) == len(QUESTIONS) + len(PROBLEMS)

    def test_answers_that_do_not_match_the_prompts_are_an_error(self, prompts, params):
        base = fake_outputs("base", prompts, [SPANISH], [])
        with pytest.raises(ValueError, match="base: 1 answers for 5 prompts"):
            n.score_evaluation(prompts, base, base, base, params["scoring"])


class TestReport:
    def scored(self, prompts, params, tuned_tutor):
        order = [item["id"] for item in prompts["problems"]]
        base = fake_outputs("base", prompts, [ENGLISH] * 3, ["No sé."] * 2)
        tuned = fake_outputs("fine_tuned", prompts, tuned_tutor, [GOOD[i] for i in order])
        tuned["artifact"]["provenance"] = {"global_step": 12, "data": {}}
        gguf = {"model": "gguf", "measured": False, "reason": "no gguf_model/ollama_modelfile"}
        return n.score_evaluation(prompts, base, tuned, gguf, params["scoring"])

    def test_the_report_states_versions_table_and_a_positive_verdict(self, prompts, params):
        rows, samples = self.scored(prompts, params, [SPANISH] * 3)
        report = n.write_evaluation_report(rows, samples, prompts, "es", params["report"])
        assert "**gguf**: not measured (no gguf_model/ollama_modelfile)" in report
        assert prompts["data"]["tutor_test_fingerprint"] in report
        assert "| es answer rate | 0% (0/3) | 100% (5/5) |" in report
        assert "**The fine-tuned model beats the base on both.**" in report
        assert report.count("data:image/png;base64,") == 2
        assert "pass@1 is measured on the problem set only" in report

    def test_the_report_says_honestly_when_the_fine_tune_does_not_win(self, prompts, params):
        rows, samples = self.scored(prompts, params, [ENGLISH] * 3)
        for row in rows:
            if row["model"] == "base":
                row["es_answer_rate"] = {"rate": 1.0, "passed": 5, "total": 5}
        report = n.write_evaluation_report(rows, samples, prompts, "es", params["report"])
        assert "NOT better" in report
        assert "does not beat the base" in report and "12 optimizer steps" in report

    def test_a_gguf_older_than_the_adapter_is_flagged(self, prompts, params):
        rows, samples = self.scored(prompts, params, [SPANISH] * 3)
        rows[1]["version"] = "2026-11-29T02.35.27.746Z"
        rows[2] = {**rows[1], "model": "gguf", "version": "2026-11-29T02.15.27.311Z"}
        report = n.write_evaluation_report(rows, samples, prompts, "es", params["report"])
        assert "**Warning**: the GGUF (version 2026-11-29T02.15.27.311Z) is older" in report
        rows[2]["version"] = "2026-11-29T02.40.00.000Z"
        report = n.write_evaluation_report(rows, samples, prompts, "es", params["report"])
        assert "**Warning**" not in report

    def test_plots_are_figures_for_the_matplotlib_dataset(self, prompts, params):
        import matplotlib.pyplot as plt

        rows, _ = self.scored(prompts, params, [SPANISH] * 3)
        for figure in (n.plot_evaluation_quality(rows, "es"), n.plot_evaluation_loss_speed(rows)):
            assert len(figure.axes) >= 1
            plt.close(figure)


@pytest.mark.slow
def test_pipeline_slice_runs_end_to_end_on_the_tiny_models(  # noqa: PLR0917 - fixtures
    tutor_test, problems, params, tiny_llama_dir, lora_dir, tmp_path
):
    """Every node, through an in-memory catalog; the GGUF absent (an optional dataset's False)."""
    inputs = {
        "tutor_test": tutor_test,
        "evaluation_problems": problems,
        "base_model": tiny_llama_dir,
        "lora_adapter": lora_dir,
        "gguf_model": False,
        "ollama_modelfile": "",
    }
    flat = {"params:evaluation." + key: value for key, value in copy.deepcopy(params).items()}
    flat["params:evaluation.scoring.target_language"] = params["scoring"]["target_language"]
    datasets = {k: MemoryDataset(v) for k, v in {**inputs, **flat}.items()}
    datasets["evaluation_metrics"] = JSONDataset(filepath=str(tmp_path / "metrics.json"))
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
    report = outputs["evaluation_report"].load()
    assert "## Verdict" in report and str(lora_dir) in report
    samples = catalog["evaluation_samples"].load()
    assert {"base_answer", "fine_tuned_answer"} <= set(samples.columns)
