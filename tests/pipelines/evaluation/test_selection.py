"""Selection: the profile's sizes, sorted ids and first N, rows checked with their names."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.pipelines.evaluation.selection import build_evaluation_prompts, resolve_profile

from .cases import QUESTIONS, SYSTEM


class TestProfiles:
    def test_the_full_profile_asks_everything_with_long_answers(self, raw_params):
        selection, generation = resolve_profile(
            "full", raw_params["profiles"], raw_params["selection"], raw_params["generation"]
        )
        assert selection["tutor_examples"] is None and selection["humaneval"] is None
        assert selection["problems"] is None and selection["profile"] == "full"
        assert generation["max_new_tokens"] >= 384
        assert generation["batch_size"] == raw_params["generation"]["batch_size"]

    def test_an_unknown_profile_names_the_parameter(self, raw_params):
        with pytest.raises(ValueError, match=r"evaluation\.profile 'fast'.*\['full', 'quick'\]"):
            resolve_profile("fast", raw_params["profiles"], {}, {})

    def test_a_profile_without_a_size_names_its_key(self, raw_params):
        with pytest.raises(ValueError, match=r"evaluation\.profiles\.quick lacks \['humaneval'\]"):
            resolve_profile(
                "quick",
                {"quick": {"tutor_examples": 1, "problems": 1, "max_new_tokens": 8}},
                {},
                {},
            )


class TestBuildPrompts:
    def test_selection_is_sorted_and_bounded_and_problems_get_the_trained_persona(
        self, tutor_test, problems, humaneval_es, params
    ):
        selection = {**params["selection"], "tutor_examples": 2, "problems": 1}
        prompts = build_evaluation_prompts(tutor_test[::-1], problems, humaneval_es, selection)
        assert [item["id"] for item in prompts["tutor"]] == [f"{0:016x}", f"{1:016x}"]
        assert prompts["tutor"][0]["reference"] == QUESTIONS[0][2]
        assert [item["id"] for item in prompts["problems"]] == ["t_001"]
        system, user = prompts["problems"][0]["messages"]
        assert system == {"role": "system", "content": SYSTEM}
        assert "def saludo(nombre: str) -> str:" in user["content"]
        assert prompts["data"]["problems"] == 1 and prompts["data"]["tutor_test_rows"] == 3

    def test_only_translated_humaneval_rows_are_asked_and_the_others_are_counted(
        self, prompts, humaneval_es
    ):
        assert [item["id"] for item in prompts["humaneval"]] == ["HumanEval/2"]
        item = prompts["humaneval"][0]
        assert item["prompt"] in item["messages"][-1]["content"]
        assert item["entry_point"] == "truncate_number" and "def check" in item["tests"]
        data = prompts["data"]
        assert (data["humaneval_rows"], data["humaneval_translated"]) == (2, 1)
        assert data["humaneval_not_translated"] == {"HumanEval/159": humaneval_es.loc[1, "reason"]}

    def test_humaneval_follows_the_task_number_not_the_string_order(
        self, tutor_test, problems, humaneval_es, params
    ):
        first = humaneval_es.iloc[[0]]
        frame = pd.concat(
            [first.assign(task_id="HumanEval/10"), first.assign(task_id="HumanEval/9")]
        )
        selection = {**params["selection"], "humaneval": 1}
        prompts = build_evaluation_prompts(tutor_test, problems, frame, selection)
        assert [item["id"] for item in prompts["humaneval"]] == ["HumanEval/9"]

    def test_the_fingerprint_names_the_data_measured(
        self, tutor_test, problems, humaneval_es, params
    ):
        one = build_evaluation_prompts(tutor_test, problems, humaneval_es, params["selection"])
        other = build_evaluation_prompts(
            tutor_test.iloc[:2], problems, humaneval_es, params["selection"]
        )
        assert one["data"]["tutor_test_fingerprint"] != other["data"]["tutor_test_fingerprint"]

    def test_a_conversation_without_an_assistant_answer_names_its_row(
        self, tutor_test, problems, humaneval_es, params
    ):
        broken = tutor_test.copy()
        broken.at[1, "messages"] = broken.at[1, "messages"][:2]
        with pytest.raises(ValueError, match=r"`tutor_test` row 2 \(example_id 0+1\).*assistant"):
            build_evaluation_prompts(broken, problems, humaneval_es, params["selection"])

    def test_a_problem_with_broken_tests_names_its_row_and_column(
        self, tutor_test, problems, humaneval_es, params
    ):
        broken = problems.copy()
        broken.at[1, "tests"] = "assert saludo('Ana' =="
        with pytest.raises(ValueError, match=r"evaluation_problems row 2 \(t_001\).*'tests'"):
            build_evaluation_prompts(tutor_test, broken, humaneval_es, params["selection"])

    def test_a_humaneval_prompt_that_is_no_function_header_names_its_row(
        self, tutor_test, problems, humaneval_es, params
    ):
        broken = humaneval_es.copy()
        broken.at[0, "prompt"] = "def truncate_number(number: float) -> float\n"
        with pytest.raises(ValueError, match=r"humaneval_es row 1 \(HumanEval/2\).*'prompt'"):
            build_evaluation_prompts(tutor_test, problems, broken, params["selection"])

    def test_no_system_prompt_for_problems_is_an_error_naming_the_parameter(
        self, tutor_test, problems, humaneval_es, params
    ):
        no_system = tutor_test.assign(messages=[m[1:] for m in tutor_test["messages"]])
        with pytest.raises(ValueError, match=r"evaluation\.selection\.problem_system"):
            build_evaluation_prompts(no_system, problems, humaneval_es, params["selection"])
