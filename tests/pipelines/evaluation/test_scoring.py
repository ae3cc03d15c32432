"""Scoring: every answer's flags, each model's rates with intervals, pass@1 of both sets."""

from __future__ import annotations

import pytest

from python_tutor.pipelines.evaluation.scoring import rate_with_interval, score_evaluation

from .cases import ENGLISH, GOOD, QUESTIONS, SPANISH, fake_outputs

COUNTS = ("rate", "passed", "total")
GGUF_ABSENT = {"model": "gguf", "measured": False, "reason": "no gguf_model/ollama_modelfile"}


def counts(rate: dict) -> dict:
    return {key: rate[key] for key in COUNTS}


class TestScoring:
    @pytest.fixture
    def scored(self, prompts, params):
        order = [item["id"] for item in prompts["problems"]]
        base = fake_outputs(
            "base",
            prompts,
            [ENGLISH, ENGLISH, "```python\ndef suma(a, b) return\n```"],
            ["No sé.", "```python\nimport os\nwhile True:\n    os.fork()\n```"],
            ["```python\ndef truncate_number(number):\n    return int(number)\n```"],
        )
        tuned = fake_outputs(
            "fine_tuned",
            prompts,
            [SPANISH, SPANISH, QUESTIONS[2][2]],
            [GOOD[i] for i in order],
            [GOOD["HumanEval/2"]],
        )
        rows, samples = score_evaluation(prompts, base, tuned, GGUF_ABSENT, params["scoring"])
        return {row["model"]: row for row in rows}, samples, order

    def test_metrics_follow_the_answers(self, scored):
        by, samples, order = scored
        assert by["gguf"] == GGUF_ABSENT
        # Code-only and too-short answers have no language: they are not counted.
        assert counts(by["fine_tuned"]["es_answer_rate"]) == {"rate": 1.0, "passed": 4, "total": 4}
        assert counts(by["base"]["es_answer_rate"]) == {"rate": 0.0, "passed": 0, "total": 2}
        assert counts(by["fine_tuned"]["pass_at_1_problems"]) == {
            "rate": 1.0,
            "passed": 2,
            "total": 2,
        }
        assert counts(by["base"]["pass_at_1_problems"]) == {"rate": 0.0, "passed": 0, "total": 2}
        assert counts(by["base"]["code_parse_rate"]) == {"rate": 2 / 3, "passed": 2, "total": 3}
        assert by["base"]["code_run_rate"]["passed"] == 1  # the HumanEval answer runs, wrongly
        assert counts(by["fine_tuned"]["code_run_rate"]) == {"rate": 1.0, "passed": 4, "total": 4}
        assert by["fine_tuned"]["chrf"] > by["base"]["chrf"]
        assert by["fine_tuned"]["tokens_per_second"] == pytest.approx(20.0)
        assert by["base"]["pass_at_1_tutor_test"] is None
        fork = samples.set_index("id").loc[order[1]]
        assert fork["base_run_status"] == "blocked" and fork["base_test_status"] == "blocked"
        assert list(samples.columns[:5]) == ["id", "kind", "task", "prompt", "reference"]
        assert len(samples) == len(QUESTIONS) + 2 + 1

    def test_humaneval_is_scored_by_the_problems_check(self, scored):
        by, samples, _ = scored
        assert counts(by["fine_tuned"]["pass_at_1_humaneval"]) == {
            "rate": 1.0,
            "passed": 1,
            "total": 1,
        }
        assert by["fine_tuned"]["pass_at_k_humaneval"] == {"pass@1": 1.0}
        assert by["base"]["pass_at_k_humaneval"] == {"pass@1": 0.0}
        row = samples.set_index("id").loc["HumanEval/2"]
        assert row["kind"] == "humaneval" and row["base_test_status"] == "error"

    def test_every_rate_has_an_interval_around_it(self, scored):
        by, _, _ = scored
        for model in ("base", "fine_tuned"):
            for key in ("es_answer_rate", "code_parse_rate", "pass_at_1_problems"):
                rate = by[model][key]
                low, high = rate["interval"]
                assert 0 <= low <= rate["rate"] <= high <= 1
        low, high = by["base"]["code_parse_rate"]["interval"]
        assert low < 2 / 3 < high  # 2 of 3 cannot pin the rate down
        assert by["base"]["sandbox"]["snippets_run"] is True

    def test_answers_that_do_not_match_the_prompts_are_an_error(self, prompts, params):
        base = fake_outputs("base", prompts, [SPANISH], [], [])
        with pytest.raises(ValueError, match="base: 1 answers for 6 prompts"):
            score_evaluation(prompts, base, base, base, params["scoring"])

    def test_unknown_language_codes_name_the_parameter(self, prompts, params):
        scoring = {**params["scoring"], "languages": ["es", "xx"]}
        with pytest.raises(ValueError, match=r"evaluation\.scoring\.languages.*xx"):
            score_evaluation(prompts, GGUF_ABSENT, GGUF_ABSENT, GGUF_ABSENT, scoring)


def test_a_rate_interval_narrows_with_more_items(params):
    statistics = params["scoring"]["statistics"]
    few = rate_with_interval([True, False] * 3, statistics)["interval"]
    many = rate_with_interval([True, False] * 60, statistics)["interval"]
    assert many[1] - many[0] < few[1] - few[0]
    assert rate_with_interval([None], statistics)["interval"] is None
