"""The shared model fixtures load and generate, so model tests can rely on them."""

import pytest


@pytest.mark.slow
def test_tiny_llama_loads_with_the_real_tokenizer(tiny_llama_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    assert model.config.model_type == "llama"
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hola"}], tokenize=False, add_generation_prompt=True
    )
    assert "<|im_start|>user\nHola<|im_end|>" in text
    ids = tokenizer(text, return_tensors="pt").input_ids
    assert model.generate(ids, max_new_tokens=3, do_sample=False).shape[1] == ids.shape[1] + 3
