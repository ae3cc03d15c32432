"""Shared test material for the evaluation modules: a tiny tutor_test, problem sets, answers."""

from __future__ import annotations

from pathlib import Path

from python_tutor.chat_templates import BUILTIN
from python_tutor.modelfile import render_modelfile

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
# Two HumanEval problems as HumanEval-ES holds them (the prompts and tests are the package's
# own text; the docstring as the tutor mode translated it), and one kept in English.
TRUNCATE_PROMPT = (
    "\n\ndef truncate_number(number: float) -> float:\n"
    '    """ Dado un número de coma flotante positivo, se puede descomponer en\n'
    "    y parte entera (el entero más grande más pequeño que el número dado) y decimales\n"
    "    (parte restante siempre más pequeña que 1).\n\n"
    "    Regresa la parte decimal del número.\n"
    "    >>> truncate_number(3.5)\n    0.5\n"
    '    """\n'
)
TRUNCATE_TEST = (
    "\n\nMETADATA = {\n    'author': 'jt',\n    'dataset': 'test'\n}\n\n\n"
    "def check(candidate):\n"
    "    assert candidate(3.5) == 0.5\n"
    "    assert abs(candidate(1.33) - 0.33) < 1e-6\n"
    "    assert abs(candidate(123.456) - 0.456) < 1e-6\n"
)
HUMANEVAL = [
    {
        "task_id": "HumanEval/2",
        "entry_point": "truncate_number",
        "prompt": TRUNCATE_PROMPT,
        "test": TRUNCATE_TEST,
        "translated": True,
        "reason": None,
    },
    {
        "task_id": "HumanEval/159",
        "entry_point": "eat",
        "prompt": '\ndef eat(number, need, remaining):\n    """\n    You\'re a hungry rabbit.\n'
        '    """\n',
        "test": "def check(candidate):\n    assert candidate(5, 6, 10) == [11, 4]\n",
        "translated": False,
        "reason": "integrity check: code line changed: '* 0 <= number <= 1000'",
    },
]

SPANISH = "La función recorre la lista y suma cada elemento para devolver el total."
ENGLISH = "The function walks over the list and adds every element to return the total."
GOOD = {
    "t_001": "Aquí tienes la función que saluda por su nombre:\n\n"
    "```python\ndef saludo(nombre):\n    return 'Hola, ' + nombre\n```",
    "t_002": "Así se calcula el doble de un número entero:\n\n"
    "```python\ndef doble(x):\n    return 2 * x\n```",
    "HumanEval/2": "```python\ndef truncate_number(number: float) -> float:\n"
    '    """Parte decimal."""\n    return number % 1.0\n```',
}


def modelfile_text(gguf: Path) -> str:
    return render_modelfile(gguf.name, BUILTIN["chatml"], MODELFILE_SYSTEM, {"temperature": 0})


def fake_outputs(
    name: str, prompts: dict, tutor: list[str], problem: list[str], humaneval: list[str]
) -> dict:
    """What an evaluate_*_model node returns, with the given answer texts."""

    def answers(texts):
        return [{"text": t, "new_tokens": 10, "seconds": 0.5} for t in texts]

    return {
        "model": name,
        "measured": True,
        "artifact": {"path": f"data/06_models/{name}/2026-11-29T01.00.00.000Z/x", "version": None},
        "loss": {"loss": 2.0 if name == "base" else 1.5, "perplexity": 7.0, "scored_tokens": 9},
        "tutor_answers": answers(tutor),
        "problems_answers": answers(problem),
        "humaneval_answers": answers(humaneval),
    }
