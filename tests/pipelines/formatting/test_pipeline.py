"""Formatting: templating per task, the length filter, the split, the report and the slice."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from transformers import AutoTokenizer

from python_tutor.pipelines.formatting import create_pipeline
from python_tutor.pipelines.formatting.nodes import (
    build_conversations,
    filter_long_conversations,
    report_formatting,
    split_conversations,
)
from python_tutor.pipelines.formatting.templating import check_user_templates, fence

PARAMS_FILE = Path(__file__).resolve().parents[3] / "conf/base/parameters_formatting.yml"


@pytest.fixture(scope="module")
def params() -> dict:
    """The real parameters, globals filled in as the tests need them."""
    loaded = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))["formatting"]
    loaded["lengths"].update(chat_template="model", max_seq_length=512)
    return loaded


@pytest.fixture(scope="module")
def tokenizer(smollm2_tokenizer_dir):
    return AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)


def example(example_id: str, task: str, code: str = "", instruction: str = "", response: str = ""):
    return {
        "example_id": example_id,
        "source": "test",
        "task": task,
        "code": code,
        "instruction_en": "(en)",
        "instruction_es": instruction or f"Instrucción {example_id}",
        "response_en": "(en)",
        "response_es": response or f"Respuesta {example_id}.",
        "quality_score": 0.9,
    }


INDENTED = "def f(x):\n    if x:\n        return 1\n    return 0\n"


@pytest.fixture
def translated() -> pd.DataFrame:
    rows = [
        example("e1", "explain", INDENTED, "Explica este código."),
        example("f1", "fix", "print(1 +)\n", "Corrige el error."),
        example("g1", "generate", "", "Escribe una función que sume."),
        example("g2", "generate", "[1, 2, 3]", "Ordena esta lista."),
        example("q1", "qa", "", "¿Qué es una tupla?"),
    ]
    return pd.DataFrame(rows)


# --- templating ------------------------------------------------------------------------------
class TestBuildConversations:
    def test_one_conversation_per_task_with_fenced_code(self, translated, params):
        conversations, rejected = build_conversations(
            translated, params["prompts"], params["quality"]
        )
        assert rejected.empty
        by_id = dict(zip(conversations["example_id"], conversations["messages"]))
        for messages in by_id.values():
            assert [m["role"] for m in messages] == ["system", "user", "assistant"]
            assert messages[0]["content"] == params["prompts"]["system"].strip()
        assert by_id["e1"][1]["content"] == f"Explica este código.\n\n```python\n{INDENTED}```"
        assert by_id["f1"][1]["content"] == (
            "Corrige el error.\n\nEste es mi código:\n\n```python\nprint(1 +)\n```"
        )
        assert by_id["g1"][1]["content"] == "Escribe una función que sume."
        assert by_id["g2"][1]["content"].endswith("Entrada:\n\n```python\n[1, 2, 3]\n```")
        assert by_id["q1"][1]["content"] == "¿Qué es una tupla?"
        assert by_id["q1"][2]["content"] == "Respuesta q1."

    def test_flagged_translations_stay_out_of_training_and_are_counted(self, translated, params):
        flagged = translated.assign(quality_flags=[[], ["response_not_es"], [], [], []])
        conversations, rejected = build_conversations(flagged, params["prompts"], params["quality"])
        assert "f1" not in set(conversations["example_id"]) and len(conversations) == 4
        assert rejected.set_index("example_id").loc["f1", "reason_kind"] == (
            "low_quality_translation"
        )
        assert "response_not_es" in rejected["reason"].iloc[0]
        kept, _ = build_conversations(flagged, params["prompts"], {"skip_flagged": False})
        assert len(kept) == 5

    def test_code_es_is_shown_when_asked(self, translated, params):
        spanish = translated.assign(code_es=translated["code"].str.replace("if x", "if x  # sí"))
        prompts = {**params["prompts"], "code_column": "code_es"}
        conversations, _ = build_conversations(spanish, prompts, params["quality"])
        assert "# sí" in conversations.iloc[0]["messages"][1]["content"]

    def test_bad_rows_are_rejected_with_their_reason(self, params):
        frame = pd.DataFrame(
            [
                example("x1", "explain", ""),  # explain without code: template is null
                example("x2", "translate", "x = 1"),
                {**example("x3", "qa"), "response_es": "  "},
                {**example("x4", "qa"), "code": None},
            ]
        )
        conversations, rejected = build_conversations(frame, params["prompts"], params["quality"])
        assert list(conversations["example_id"]) == ["x4"]
        reasons = dict(zip(rejected["example_id"], rejected["reason_kind"]))
        assert reasons == {"x1": "no_template", "x2": "unknown_task", "x3": "empty_translation"}
        assert "formatting.prompts.user.explain.without_code" in rejected["reason"].iloc[0]
        assert "response_es" in rejected["reason"].iloc[2]

    def test_missing_column_names_it(self, translated, params):
        with pytest.raises(ValueError, match=r"lacks column\(s\) \['response_es'\]"):
            build_conversations(
                translated.drop(columns="response_es"), params["prompts"], params["quality"]
            )


class TestTemplates:
    def test_fence_outgrows_backticks_in_the_code(self):
        code = 's = """```python\\nx\\n```"""'
        assert fence(code, "python") == f"````python\n{code}\n````"

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda u: u.pop("qa"), r"missing \['qa'\]"),
            (lambda u: u["fix"].update(with_code="{instruction} {codigo}"), r"uses \['codigo'\]"),
            (lambda u: u["explain"].update(with_code="{instruction}"), "must contain"),
            (lambda u: u["qa"].update(without_code="{code_block}"), "must not contain"),
            (lambda u: u["generate"].pop("without_code"), "generate.without_code` is missing"),
        ],
    )
    def test_bad_templates_name_their_key(self, params, change, message):
        user = copy.deepcopy(params["prompts"]["user"])
        change(user)
        with pytest.raises(ValueError, match=message):
            check_user_templates(user)


# --- length filter ---------------------------------------------------------------------------
class TestLengthFilter:
    def test_overlong_are_rejected_with_their_length_never_truncated(
        self, translated, params, tokenizer
    ):
        conversations, _ = build_conversations(translated, params["prompts"], params["quality"])
        messages = conversations["messages"]
        texts = [tokenizer.apply_chat_template(m, tokenize=False) for m in messages]
        lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
        limit = sorted(set(lengths))[-2]  # the longest conversation(s) go over
        kept, rejected = filter_long_conversations(
            conversations, tokenizer, {**params["lengths"], "max_seq_length": limit}
        )
        expected = dict(zip(conversations["example_id"], lengths))
        assert dict(zip(kept["example_id"], kept["n_tokens"])) == {
            k: v for k, v in expected.items() if v <= limit
        }
        assert dict(zip(rejected["example_id"], rejected["n_tokens"])) == {
            k: v for k, v in expected.items() if v > limit
        }
        assert len(rejected) == lengths.count(max(lengths)) >= 1
        assert set(rejected["reason_kind"]) == {"too_long"}
        assert f"> max_seq_length {limit}" in rejected["reason"].iloc[0]
        original = dict(zip(conversations["example_id"], conversations["messages"]))
        assert all(original[i] == m for i, m in zip(kept["example_id"], kept["messages"]))

    def test_template_the_tokenizer_cannot_speak_fails(self, translated, params, tokenizer):
        conversations, _ = build_conversations(translated, params["prompts"], params["quality"])
        with pytest.raises(ValueError, match="chat_template"):
            filter_long_conversations(
                conversations, tokenizer, {**params["lengths"], "chat_template": "llama-3.1"}
            )


# --- report ----------------------------------------------------------------------------------
def test_report_refuses_counts_that_do_not_add_up(translated, params, tokenizer):
    conversations, rejected = build_conversations(translated, params["prompts"], params["quality"])
    measured, overlong = filter_long_conversations(conversations, tokenizer, params["lengths"])
    *_, assignment = split_conversations(measured, params["split"])
    with pytest.raises(RuntimeError, match="does not add up: 5 in, 4 kept"):
        report_formatting(translated, rejected, overlong, assignment.iloc[1:], params["lengths"])


# --- the pipeline slice ----------------------------------------------------------------------
class TestPipeline:
    def test_runs_end_to_end_over_a_memory_catalog(self, translated, params, tokenizer):
        frame = pd.concat(
            [translated, pd.DataFrame([example("x1", "explain", "")])], ignore_index=True
        )
        datasets = {
            "translated_examples": MemoryDataset(frame),
            "base_tokenizer": MemoryDataset(tokenizer, copy_mode="assign"),
            **{f"params:formatting.{k}": MemoryDataset(v) for k, v in params.items()},
        }
        catalog = DataCatalog(datasets)
        SequentialRunner().run(create_pipeline(), catalog)
        report = catalog.load("formatting_report")
        splits = [catalog.load(f"tutor_{name}") for name in ("train", "val", "test")]
        assert report["rows_in"] == 6 == report["kept"] + report["rejected"]
        assert report["kept"] == sum(len(s) for s in splits) == 5
        assert report["by_reason"] == {"no_template": 1}
        assert report["token_lengths"]["kept"]["count"] == 5
        assert list(catalog.load("rejected_conversations")["example_id"]) == ["x1"]
        for split in splits:
            assert list(split.columns) == ["example_id", "task", "messages"]
        figure = catalog.load("token_length_histogram")
        assert figure.axes[0].get_xlabel().startswith("tokens")

    def test_node_names(self):
        names = {node.name for node in create_pipeline().nodes}
        assert names == {
            "build_conversations_node",
            "filter_long_conversations_node",
            "split_conversations_node",
            "report_formatting_node",
        }


def test_catalog_jsonl_is_the_messages_format_trl_reads(translated, params, tmp_path, project_root):
    """tutor_* as configured in the catalog round-trip, and `datasets` reads them as chats."""
    from datasets import load_dataset
    from kedro.io import DataCatalog

    config = yaml.safe_load((project_root / "conf/base/catalog_formatting.yml").read_text())
    entry = {**config["tutor_train"], "filepath": str(tmp_path / "tutor_train.jsonl")}
    entry.pop("versioned")
    catalog = DataCatalog.from_config({"tutor_train": entry})
    conversations, _ = build_conversations(translated, params["prompts"], params["quality"])
    frame = conversations[["example_id", "task", "messages"]]
    catalog.save("tutor_train", frame)
    assert catalog.load("tutor_train").to_dict("records") == frame.to_dict("records")
    data = str(tmp_path / "tutor_train.jsonl")
    rows = load_dataset("json", data_files=data, split="train", cache_dir=str(tmp_path / "hf"))
    assert rows[0]["messages"] == frame["messages"].iloc[0]
    assert "¿Qué es una tupla?" in (tmp_path / "tutor_train.jsonl").read_text(encoding="utf-8")
