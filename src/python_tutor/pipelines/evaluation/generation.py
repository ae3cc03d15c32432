"""One node per model: load it, score its loss, have it answer every prompt of the selection.

The models are too big to pass between nodes in memory, so these nodes open them by path
(datasets hand over paths); what they return is plain data: answers, loss, the artifact
measured (its path relative to the project root, so no machine path reaches a report).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from python_tutor.modelfile import parse_modelfile

logger = logging.getLogger(__name__)

BASE, FINE_TUNED, GGUF = "base", "fine_tuned", "gguf"
MODELS = (BASE, FINE_TUNED, GGUF)
SETS = ("tutor", "problems", "humaneval")  # the prompt sets, in the order they are asked
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}Z")


def _version_of(path: Path | str) -> str | None:
    """The Kedro save version in an artifact's path, when it has one."""
    found = _VERSION.findall(str(path))
    return found[-1] if found else None


def shown_path(path: Path | str, root: Path | None = None) -> str:
    """``path`` relative to the project root (Kedro runs from it); outside it, the last two
    parts behind ``…/``: a report names the artifact, not the machine it was made on."""
    root = (root or Path.cwd()).resolve()
    resolved = Path(path).resolve()
    if resolved.is_relative_to(root):
        return resolved.relative_to(root).as_posix()
    return "…/" + "/".join(resolved.parts[-2:])


def _provenance_summary(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """What the report needs from the adapter's provenance.json: when and on what it trained."""
    return {
        key: provenance[key]
        for key in ("created_utc", "global_step", "chat_template", "data", "base_model")
        if key in provenance
    }


def _prompt_chats(prompts: Mapping[str, Any]) -> list[list[dict[str, str]]]:
    """System + user turns of every prompt (tutor without its reference, then the problems)."""
    return [item["messages"][:-1] for item in prompts["tutor"]] + [
        item["messages"] for name in SETS[1:] for item in prompts[name]
    ]


def _outputs(
    name: str, artifact: Mapping[str, Any], answers: Sequence[Any], prompts: Mapping[str, Any]
) -> dict[str, Any]:
    dicts = [answer.to_dict() for answer in answers]
    outputs: dict[str, Any] = {"model": name, "measured": True, "artifact": dict(artifact)}
    start = 0
    for prompt_set in SETS:
        end = start + len(prompts[prompt_set])
        outputs[f"{prompt_set}_answers"] = dicts[start:end]
        start = end
    return outputs


def _transformers_outputs(  # noqa: PLR0917 - the two node functions below name them
    name: str,
    prompts: Mapping[str, Any],
    base_model: Path,
    adapter: Path | None,
    runtime: Mapping[str, Any],
    generation: Mapping[str, Any],
) -> dict[str, Any]:
    from .models import (  # noqa: PLC0415 - torch behind it
        assistant_loss,
        generate_transformers,
        load_transformers_model,
    )

    loaded = load_transformers_model(base_model, adapter, runtime)
    loss = assistant_loss(loaded, prompts["loss_conversations"], int(generation["max_length"]))
    answers = generate_transformers(loaded, _prompt_chats(prompts), generation)
    measured = adapter or base_model
    artifact = {"path": shown_path(measured), "version": _version_of(measured)}
    if adapter is not None:
        artifact["base_path"] = shown_path(base_model)
        provenance = Path(adapter) / "provenance.json"
        if provenance.is_file():
            artifact["provenance"] = _provenance_summary(
                json.loads(provenance.read_text(encoding="utf-8"))
            )
    outputs = _outputs(name, artifact, answers, prompts)
    outputs["loss"] = loss
    outputs["precision"] = loaded.precision.as_dict()
    logger.info("%s: assistant loss %.3f on %d tokens", name, loss["loss"], loss["scored_tokens"])
    return outputs


def evaluate_base_model(
    evaluation_prompts: dict[str, Any],
    base_model: Path,
    runtime: dict[str, Any],
    generation: dict[str, Any],
) -> dict[str, Any]:
    """Loss and answers of the untouched base checkpoint: the bar to beat."""
    return _transformers_outputs(BASE, evaluation_prompts, base_model, None, runtime, generation)


def evaluate_fine_tuned_model(
    evaluation_prompts: dict[str, Any],
    base_model: Path,
    lora_adapter: Path,
    runtime: dict[str, Any],
    generation: dict[str, Any],
) -> dict[str, Any]:
    """Loss and answers of base + LoRA (merged), prompted with the adapter's own tokenizer."""
    model = (evaluation_prompts, base_model, lora_adapter, runtime, generation)
    return _transformers_outputs(FINE_TUNED, *model)


def evaluate_gguf_model(
    evaluation_prompts: dict[str, Any],
    gguf_model: Path | None,
    ollama_modelfile: str | None,
    runtime: dict[str, Any],
    generation: dict[str, Any],
) -> dict[str, Any]:
    """Answers of the deployed GGUF through llama.cpp, prompted from the Modelfile.

    A missing GGUF (``None``/``False`` from an optional dataset) is reported as not measured,
    never silently dropped. No loss: llama.cpp is compared on answers only.
    """
    if not gguf_model or not ollama_modelfile:
        return {"model": GGUF, "measured": False, "reason": "no gguf_model/ollama_modelfile"}
    from .models import generate_gguf, load_gguf_model  # noqa: PLC0415

    modelfile = parse_modelfile(ollama_modelfile)
    llama = load_gguf_model(Path(gguf_model), modelfile, runtime)
    answers = generate_gguf(llama, modelfile, _prompt_chats(evaluation_prompts), generation)
    artifact = {
        "path": shown_path(gguf_model),
        "version": _version_of(gguf_model),
        "system_prompt": modelfile.get("system", ""),
        "stop": modelfile.get("stop", []),
    }
    return _outputs(GGUF, artifact, answers, evaluation_prompts)
