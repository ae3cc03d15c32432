"""Load the three models and ask them: assistant-token loss and answers.

Transformers (base, base + LoRA) and llama.cpp (the GGUF) behind the same small interface: a
list of chats in, a list of ``Answer`` out, with tokens and seconds for the speed metric.
Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from python_tutor.chat_templates import ChatTemplate, render, resolve_chat_template
from python_tutor.gguf_chat import chat_messages, completion_settings, open_gguf, prompt_tokens
from python_tutor.machine import cpu_threads
from python_tutor.precision import Precision, resolve_precision

logger = logging.getLogger(__name__)

Chat = Sequence[Mapping[str, str]]


@dataclass(frozen=True)
class Answer:
    """One generated answer and what it cost."""

    text: str
    new_tokens: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedModel:
    """A transformers model ready to score and generate, with the layout it is prompted in."""

    model: Any
    tokenizer: Any
    template: ChatTemplate
    precision: Precision


def load_transformers_model(
    base_model: Path, adapter: Path | None, runtime: Mapping[str, Any]
) -> LoadedModel:
    """The base checkpoint, with the LoRA adapter merged in when one is given.

    The fine-tuned model uses the tokenizer (and chat template) saved with its adapter, the
    base its own: each is prompted in the layout it was built for. The models run on the CPU in
    the precision ``runtime.torch_dtype`` resolves to (python_tutor.precision).
    """
    import torch  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    torch.set_num_threads(cpu_threads(runtime["torch_threads"]))
    precision = resolve_precision(runtime["torch_dtype"], "evaluation.runtime.torch_dtype")
    model = AutoModelForCausalLM.from_pretrained(
        base_model, dtype=getattr(torch, precision.torch_name)
    )
    tokenizer_dir = base_model
    if adapter is not None:
        from peft import PeftModel  # noqa: PLC0415

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        if (Path(adapter) / "tokenizer_config.json").is_file():
            tokenizer_dir = adapter
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    template = resolve_chat_template(runtime["chat_template"], tokenizer)
    return LoadedModel(model=model, tokenizer=tokenizer, template=template, precision=precision)


def assistant_loss(
    loaded: LoadedModel, conversations: Sequence[Mapping[str, Any]], max_length: int
) -> dict[str, Any]:
    """Mean negative log-likelihood of the assistant tokens, masked as training masks them.

    The prompt (system + user + the assistant prefix) and the completion are tokenized apart
    and joined, as TRL does for prompt-completion data, so the scored tokens are exactly the
    trained ones (the answer and its end-of-turn marker).

    Raises:
        ValueError: a conversation whose rendering does not extend its prompt (names its id).
    """
    import torch  # noqa: PLC0415

    tokenizer, template = loaded.tokenizer, loaded.template
    total_nll, total_tokens, truncated = 0.0, 0, 0
    for row in conversations:
        messages = list(row["messages"])
        prompt = render(tokenizer, template, messages[:-1], add_generation_prompt=True)
        full = render(tokenizer, template, messages)
        if not full.startswith(prompt):
            raise ValueError(
                f"tutor_test example {row.get('example_id')}: the rendered conversation does "
                "not start with its rendered prompt; the chat template is not prefix-stable"
            )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
        ids = (prompt_ids + answer_ids)[:max_length]
        truncated += len(prompt_ids) + len(answer_ids) > max_length
        labels = ([-100] * len(prompt_ids) + answer_ids)[:max_length]
        scored = sum(1 for label in labels[1:] if label != -100)
        if scored == 0:
            continue
        with torch.no_grad():
            output = loaded.model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
        total_nll += float(output.loss) * scored
        total_tokens += scored
    loss = total_nll / total_tokens if total_tokens else math.nan
    return {
        "loss": loss,
        "perplexity": math.exp(loss) if total_tokens else math.nan,
        "scored_tokens": total_tokens,
        "conversations": len(conversations),
        "truncated": truncated,
    }


def _stop_ids(loaded: LoadedModel) -> list[int]:
    """End-of-turn and end-of-text ids: greedy decoding stops at the first of them."""
    ids = {loaded.tokenizer.eos_token_id}
    ids.add(loaded.tokenizer.convert_tokens_to_ids(loaded.template.end_of_turn))
    return sorted(i for i in ids if isinstance(i, int) and i >= 0)


def generate_transformers(
    loaded: LoadedModel, chats: Sequence[Chat], generation: Mapping[str, Any]
) -> list[Answer]:
    """Greedy answers in left-padded batches; the time of a batch is shared by its answers."""
    import torch  # noqa: PLC0415

    tokenizer = loaded.tokenizer
    tokenizer.padding_side = "left"
    stops = _stop_ids(loaded)
    answers: list[Answer] = []
    batch_size = int(generation["batch_size"])
    starts = range(0, len(chats), batch_size)
    for start in tqdm(starts, desc="generating", unit="batch", disable=None):
        batch = chats[start : start + batch_size]
        texts = [
            render(tokenizer, loaded.template, chat, add_generation_prompt=True) for chat in batch
        ]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        began = time.perf_counter()
        with torch.no_grad():
            output = loaded.model.generate(
                **encoded,
                do_sample=False,
                max_new_tokens=int(generation["max_new_tokens"]),
                eos_token_id=stops,
                pad_token_id=tokenizer.pad_token_id,
            )
        seconds = time.perf_counter() - began
        new = output[:, encoded["input_ids"].shape[1] :].tolist()
        counts = []
        for row in new:
            end = next((i + 1 for i, token in enumerate(row) if token in stops), len(row))
            counts.append(end)
        for row, count in zip(new, counts):
            text = tokenizer.decode(row[:count], skip_special_tokens=True).strip()
            answers.append(Answer(text, count, seconds * count / max(1, sum(counts))))
    return answers


def load_gguf_model(
    gguf_model: Path, modelfile: Mapping[str, Any], runtime: Mapping[str, Any]
) -> Any:
    """The GGUF in llama.cpp as the Modelfile configures it, on the threads the parameters
    allow; ``runtime.seed`` seeds sampling unless the Modelfile sets a seed."""
    return open_gguf(
        gguf_model, modelfile, cpu_threads(runtime["gguf_threads"]), int(runtime["seed"])
    )


def generate_gguf(
    llama: Any,
    modelfile: Mapping[str, Any],
    chats: Sequence[Chat],
    generation: Mapping[str, Any],
) -> list[Answer]:
    """The deployed tutor's answers, prompted and sampled as ``ollama run`` would
    (python_tutor.gguf_chat); the answer length is ``generation.max_new_tokens``, as for the
    other models. A chat's own system turn is dropped: users of the deployed tutor send only
    their question and the Modelfile's SYSTEM is the persona they get."""
    settings = {**completion_settings(modelfile), "max_tokens": int(generation["max_new_tokens"])}
    answers = []
    for chat in tqdm(chats, desc="generating (GGUF)", unit="answer", disable=None):
        questions = [m for m in chat if m["role"] != "system"]
        tokens = prompt_tokens(llama, chat_messages(modelfile, questions))
        began = time.perf_counter()
        result = llama.create_completion(tokens, **settings)
        seconds = time.perf_counter() - began
        answers.append(
            Answer(
                text=result["choices"][0]["text"].strip(),
                new_tokens=int(result["usage"]["completion_tokens"]),
                seconds=seconds,
            )
        )
        llama.reset()
    return answers
