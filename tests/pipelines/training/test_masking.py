"""Loss on the answer only: decoded labels hold the assistant turn and nothing before it."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.chat_templates import BUILTIN
from python_tutor.pipelines.training.backend_selection import Hardware, plan_training
from python_tutor.pipelines.training.conversations import check_conversations
from python_tutor.pipelines.training.trainers import (
    build_hf_trainer,
    sft_config_fields,
    sft_config_kwargs,
)
from python_tutor.precision import NativeSupport

from .conftest import SYSTEM, conversation

CPU = Hardware(
    native=NativeSupport(cuda=False, cuda_bf16=False, cpu_bf16=False, cpu_fp16=False),
    unsloth=False,
    bitsandbytes=False,
)


def build(base_model, params, chat_template, conversations):
    model_params = {**params["model"], "chat_template": chat_template}
    plan = plan_training("hf", model_params, params["sft"], CPU)
    kwargs = sft_config_kwargs(
        sft_params=params["sft"],
        plan=plan,
        max_seq_length=model_params["max_seq_length"],
        output_dir=params["run"]["checkpoint_dir"],
        accepted=sft_config_fields(),
    )
    return build_hf_trainer(
        plan=plan,
        base_model=base_model,
        model_params=model_params,
        lora_params=params["lora"],
        sft_kwargs=kwargs,
        train=conversations,
        val=conversations,
        callbacks=[],
    )


@pytest.mark.parametrize(
    ("model_fixture", "chat_template", "end_of_turn", "header_tail"),
    [
        ("tiny_llama_dir", "model", "<|im_end|>\n", ""),  # SmolLM2's own ChatML
        ("tiny_llama_dir", "chatml", "<|im_end|>\n", ""),
        ("tiny_llama3_dir", "llama-3.1", "<|eot_id|>", "\n\n"),
    ],
)
def test_labels_are_the_answer_and_end_of_turn_only(  # noqa: PLR0917 - parametrized
    request, training_params, model_fixture, chat_template, end_of_turn, header_tail
):
    base_model = request.getfixturevalue(model_fixture)
    answer = "Asigna 7 a x; después `print(x)` muestra 7."
    conversations = check_conversations(pd.DataFrame([conversation(7, answer)]), "tutor_train")
    built = build(base_model, training_params, chat_template, conversations)
    trainer, tokenizer = built.trainer, built.tokenizer
    assert built.template.name == ("llama-3.1" if chat_template == "llama-3.1" else "chatml")

    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    trained = tokenizer.decode(ids[labels != -100])
    masked = tokenizer.decode(ids[labels == -100])

    prefix = BUILTIN[built.template.name].assistant_prefix
    # SmolLM2's BPE merges the "\n\n" that closes a LLaMA-3 header into the answer's first
    # token, so TRL starts the completion one token early (LLaMA-3's own tokenizer splits it).
    # Only that header whitespace may join the answer; no system or user text is ever trained.
    merged = trained[: len(trained) - len(answer + end_of_turn)]
    assert trained.endswith(answer + end_of_turn)
    assert merged == header_tail
    assert prefix.endswith(merged)
    assert SYSTEM in masked
    assert "¿Qué hace `x = 7`?" in masked
    assert SYSTEM not in trained and "x = 7`?" not in trained
    assert (masked + merged).endswith(prefix)
    # the labels the loss sees are exactly the input tokens of the answer
    assert (labels[labels != -100] == ids[labels != -100]).all()


def test_a_template_the_tokenizer_cannot_speak_is_refused(tiny_llama_dir, training_params):
    conversations = check_conversations(pd.DataFrame([conversation(1)]), "tutor_train")
    with pytest.raises(ValueError, match="chat_template"):
        build(tiny_llama_dir, training_params, "llama-3.1", conversations)
