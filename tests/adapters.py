"""A real PEFT LoRA on the tiny LLaMA, shared by the export and evaluation tests."""

from __future__ import annotations

import json
from pathlib import Path


def make_adapter(base_dir: Path, target: Path, seed: int = 0, template: str = "chatml") -> Path:
    """A LoRA on q/v projections whose B weights are perturbed, so merging changes outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    )
    for name, weight in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(weight, std=0.5)
    peft_model.save_pretrained(target)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(target)
    provenance = {
        "chat_template": template,
        "base_model": {"path": str(base_dir), "model_type": "llama"},
    }
    (target / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
    return target
