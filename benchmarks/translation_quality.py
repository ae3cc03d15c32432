"""Translation quality on the reference set: plain Apertium (before) vs the tutor mode (after).

    make apertium-tutor
    KEDRO_DISABLE_TELEMETRY=true .venv/bin/python benchmarks/translation_quality.py \
        --out benchmarks/results/translation_quality.md

Each English paragraph of ``tests/data/translation_reference.jsonl`` (real docstrings of the
standard library, hard wraps kept) goes through the project's translation nodes
(``translate_examples`` then ``check_translations``) with an in-memory cache, once per Apertium
mode. The Spanish is scored against careful human references with chrF (sacrebleu: corpus
score and the mean of sentence scores), and counted for wrong programming terms (the
glossary, ``terminology.wrong_terms``) and for words Apertium marked as unknown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sacrebleu
import yaml

from python_tutor.machine import machine
from python_tutor.pipelines.translation.backends import build_backend
from python_tutor.pipelines.translation.nodes import check_translations, translate_examples
from python_tutor.pipelines.translation.terminology import wrong_terms

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "translation_reference.jsonl"
PARAMETERS = ROOT / "conf" / "base" / "parameters_translation.yml"
# "before" is Apertium as installed; "after" is the tutor mode the parameters default to.
PLAIN_MODE = {"mode": "eng-spa", "modes_dir": None}


class MemoryCache:
    """The translation cache's interface over a dict: every run starts cold."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_many(self, backend_id: str, texts: list[str]) -> dict[str, str]:
        """The cached translations of ``texts`` for this backend."""
        return {t: self.entries[backend_id, t] for t in texts if (backend_id, t) in self.entries}

    def put_many(self, backend_id: str, pairs: list[tuple[str, str]]) -> None:
        """Store translations as the backend returned them (marks included)."""
        self.entries.update(((backend_id, source), target) for source, target in pairs)

    def __len__(self) -> int:
        return len(self.entries)


def load_reference(path: Path = REFERENCE) -> list[dict[str, str]]:
    """The reference rows (id, source, en, es); a row missing a field is an error naming it."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        missing = {"id", "source", "en", "es"} - row.keys()
        if missing:
            raise ValueError(f"{path}: line {number} lacks {sorted(missing)}")
        rows.append(row)
    return rows


def load_params(path: Path = PARAMETERS) -> dict[str, Any]:
    """The ``translation`` parameters a run uses."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))["translation"]


def run_mode(rows: list[dict[str, str]], params: dict[str, Any], apertium: dict) -> dict:
    """Translate the English of ``rows`` through the nodes with these Apertium settings.

    Returns:
        The mode's scores, counts and per-row Spanish (marks stripped).
    """
    backend = {**params["backend"], "apertium": {**params["backend"]["apertium"], **apertium}}
    examples = pd.DataFrame(
        {
            "example_id": [r["id"] for r in rows],
            "source": [r["source"] for r in rows],
            "task": "docstring",
            "code": "",
            "instruction": "",
            "response": [r["en"] for r in rows],
        }
    )
    cache = MemoryCache()
    candidates, run_stats = translate_examples(
        examples,
        cache,
        backend,
        params["batching"],
        params["retry"],
        params["protect"],
        params["segment"],
        params["translate_code_comments"],
    )
    kept, rejected, _, _ = check_translations(
        candidates, run_stats, params["protect"], params["quality"]
    )
    # The same backend, told the placeholder, reads the marks of what the nodes cached.
    marks = build_backend(backend, 1, placeholder=params["protect"]["placeholder"])
    unknown = sum(marks.strip_marks(target)[1] for target in cache.entries.values())
    spanish = dict(zip(kept["example_id"], kept["response_es"], strict=True))
    spanish |= dict(zip(rejected["example_id"], rejected["response_es"].fillna(""), strict=True))
    hypotheses = [marks.strip_marks(spanish[r["id"]] or "")[0] for r in rows]
    references = [r["es"] for r in rows]
    wrong = [wrong_terms(h) for h in hypotheses]
    return {
        "backend": run_stats["backend"],
        "chrf_corpus": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2),
        "chrf_sentence_mean": round(
            sum(sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(hypotheses, references))
            / len(rows),
            2,
        ),
        "wrong_terms": sum(len(w) for w in wrong),
        "rows_with_wrong_terms": sum(1 for w in wrong if w),
        "wrong_terms_by_term": dict(
            Counter(term.split(":")[0] for w in wrong for term in w).most_common()
        ),
        "unknown_words": unknown,
        "rejected": len(rejected),
        "seconds": run_stats["seconds"],
        "spanish": dict(zip([r["id"] for r in rows], hypotheses, strict=True)),
        "wrong_by_row": {r["id"]: w for r, w in zip(rows, wrong) if w},
    }


def compare(rows: list[dict[str, str]], params: dict[str, Any]) -> dict[str, dict]:
    """The before (plain Apertium) and after (tutor mode) runs, and their paired difference."""
    before, after = run_mode(rows, params, PLAIN_MODE), run_mode(rows, params, {})
    return {"before": before, "after": after, "difference": paired_bootstrap(rows, before, after)}


def paired_bootstrap(
    rows: list[dict[str, str]], before: dict, after: dict, rounds: int = 1000, seed: int = 0
) -> dict[str, float | int]:
    """Corpus chrF gain with a 95% interval from resampling the same paragraphs for both modes
    (paired bootstrap, as in Koehn 2004): is the gain more than the choice of paragraphs?"""
    import numpy as np  # noqa: PLC0415

    ids = [r["id"] for r in rows]
    references = [r["es"] for r in rows]
    generator = np.random.default_rng(seed)
    gains = []
    for _ in range(rounds):
        pick = generator.integers(0, len(ids), len(ids))
        refs = [[references[i] for i in pick]]
        gain = sacrebleu.corpus_chrf([after["spanish"][ids[i]] for i in pick], refs).score
        gain -= sacrebleu.corpus_chrf([before["spanish"][ids[i]] for i in pick], refs).score
        gains.append(gain)
    low, high = np.percentile(gains, [2.5, 97.5])
    return {
        "chrf_gain": round(after["chrf_corpus"] - before["chrf_corpus"], 2),
        "ci95_low": round(float(low), 2),
        "ci95_high": round(float(high), 2),
        "rounds": rounds,
        "share_not_better": round(float(np.mean(np.array(gains) <= 0)), 4),
    }


METRICS = [
    ("chrF (corpus)", "chrf_corpus"),
    ("chrF (mean of sentences)", "chrf_sentence_mean"),
    ("wrong programming terms", "wrong_terms"),
    ("rows with a wrong term", "rows_with_wrong_terms"),
    ("unknown words (Apertium marks)", "unknown_words"),
    ("rows rejected by check_translations", "rejected"),
    ("seconds (translate_examples)", "seconds"),
]


def report(rows: list[dict[str, str]], result: dict[str, dict], command: str, examples: int) -> str:
    """The Markdown page: setting, before/after table, wrong terms left, example lines."""
    before, after = result["before"], result["after"]
    lines = [
        "# Translation quality: plain Apertium vs the tutor mode",
        "",
        f"Command: `{command}`",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        f"Reference set: `tests/data/translation_reference.jsonl`, {len(rows)} paragraphs of "
        "standard-library docstrings with human Spanish references; translated through "
        "`translate_examples` and `check_translations` with a cold in-memory cache.",
        "",
        f"| metric | before (`{before['backend']}`) | after (`{after['backend']}`) |",
        "|---|---:|---:|",
        *(f"| {name} | {before[key]} | {after[key]} |" for name, key in METRICS),
        "",
        f"chrF gain: {result['difference']['chrf_gain']:+.2f}, 95% paired bootstrap interval "
        f"[{result['difference']['ci95_low']:+.2f}, {result['difference']['ci95_high']:+.2f}] "
        f"over {result['difference']['rounds']} resamples of the paragraphs (share of "
        f"resamples where the tutor mode is not better: "
        f"{result['difference']['share_not_better']}).",
        "",
        f"Wrong terms before, by term: {before['wrong_terms_by_term']}.",
        f"Wrong terms after, by term: {after['wrong_terms_by_term'] or 'none'}.",
        "",
        "Both runs share everything but the Apertium mode: the same protection of code (inline "
        "code, identifiers, glossary words travel as placeholders), segmentation and checks. "
        "Wrong terms come from the glossary (`terminology.yml`), not from the rules; unknown "
        "words are Apertium's marks on what the backend sent, placeholders not counted. chrF "
        "is character-level, so it also rewards the right inflections the rules make possible.",
        "",
        "## Examples",
        "",
    ]
    shown = [r for r in rows if r["id"] in before["wrong_by_row"]][:examples]
    for row in shown:
        lines += [
            f"- `{row['id']}` ({row['source']})",
            f"  - en: {' '.join(row['en'].split())}",
            f"  - before: {' '.join(before['spanish'][row['id']].split())}",
            f"  - after: {' '.join(after['spanish'][row['id']].split())}",
            f"  - reference: {row['es']}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run both modes on the reference set and write the Markdown and JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/translation_quality.md"
    )
    parser.add_argument("--examples", type=int, default=6, help="example rows in the report")
    args = parser.parse_args(argv)
    rows = load_reference()
    result = compare(rows, load_params())
    command = "python benchmarks/translation_quality.py " + " ".join(argv or sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(rows, result, command.strip(), args.examples), encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {"command": command.strip(), "cpu": machine(), **result}, indent=1, ensure_ascii=False
        )
        + "\n",
        encoding="utf-8",
    )
    for mode, scores in result.items():
        print(mode, {k: v for k, v in scores.items() if k not in {"spanish", "wrong_by_row"}})


if __name__ == "__main__":
    main()
