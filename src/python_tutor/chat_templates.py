"""The one owner of chat templates: training, the Ollama Modelfile and evaluation read them here.

A conversation must be laid out byte for byte the same way when the model is trained, when
Ollama/llama.cpp serve the GGUF and when evaluation prompts it; otherwise the tuned model sees
turn markers it never learnt. So each template carries both forms: the Hugging Face Jinja
string and the equivalent Ollama ``TEMPLATE`` (Go template syntax), plus its stop strings.

``resolve_chat_template(name, tokenizer)`` picks one from the ``chat_template`` parameter:
``None``/``"model"`` keeps the tokenizer's own Jinja (ChatML for SmolLM2, LLaMA-3 headers for
LLaMA 3.x), ``"chatml"`` and ``"llama-3.1"`` use the built-in ones (``llama-3.1`` is the layout
Unsloth's ``get_chat_template(tokenizer, "llama-3.1")`` gives, which the original recipe used
for LLaMA 3.2).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

MODEL = "model"
PARAMETER_KEY = "chat_template"


@dataclass(frozen=True)
class ChatTemplate:
    """One chat layout in every form the project needs.

    Attributes:
        name: ``chatml`` or ``llama-3.1`` (the layout family, also for a model's own template).
        jinja: The Hugging Face chat template (what ``tokenizer.chat_template`` holds).
        ollama: The same layout as an Ollama Modelfile ``TEMPLATE`` (system from ``.System``,
            turns from ``.Messages``, always ending with an open assistant turn).
        stop: Stop strings for Ollama (``PARAMETER stop``) and llama.cpp.
        assistant_prefix: The text that opens an assistant turn (the generation prompt).
        end_of_turn: The text that closes every turn (the token the model must learn to emit).
        special_tokens: Marker tokens the tokenizer must know for this layout to be sane.
    """

    name: str
    jinja: str
    ollama: str
    stop: tuple[str, ...]
    assistant_prefix: str
    end_of_turn: str
    special_tokens: tuple[str, ...]


_CHATML_JINJA = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_CHATML_OLLAMA = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range .Messages }}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ end }}
{{- if eq .Role "assistant" }}<|im_start|>assistant
{{ .Content }}<|im_end|>
{{ end }}
{{- end }}<|im_start|>assistant
"""

# LLaMA 3.1/3.2 Instruct layout (no tool calls): the system turn always carries the knowledge
# and "today" dates, as Meta's and Unsloth's templates write them.
_LLAMA31_DATES = "Cutting Knowledge Date: December 2023\\nToday Date: ' + date_string + '\\n\\n"
_LLAMA31_JINJA = (
    "{{- bos_token }}"
    "{%- if date_string is not defined %}{%- set date_string = '26 July 2024' %}{%- endif %}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{%- set system_message = '' %}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n" + _LLAMA31_DATES + "' }}"
    "{{- system_message + '<|eot_id|>' }}"
    "{%- for message in loop_messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)

_LLAMA31_OLLAMA = """<|start_header_id|>system<|end_header_id|>

Cutting Knowledge Date: December 2023
Today Date: 26 July 2024

{{ .System }}<|eot_id|>
{{- range .Messages }}
{{- if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}
{{- if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}
{{- end }}<|start_header_id|>assistant<|end_header_id|>

"""

BUILTIN: dict[str, ChatTemplate] = {
    "chatml": ChatTemplate(
        name="chatml",
        jinja=_CHATML_JINJA,
        ollama=_CHATML_OLLAMA,
        stop=("<|im_end|>", "<|im_start|>"),
        assistant_prefix="<|im_start|>assistant\n",
        end_of_turn="<|im_end|>",
        special_tokens=("<|im_start|>", "<|im_end|>"),
    ),
    "llama-3.1": ChatTemplate(
        name="llama-3.1",
        jinja=_LLAMA31_JINJA,
        ollama=_LLAMA31_OLLAMA,
        stop=("<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>"),
        assistant_prefix="<|start_header_id|>assistant<|end_header_id|>\n\n",
        end_of_turn="<|eot_id|>",
        special_tokens=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    ),
}

CHOICES = (MODEL, *BUILTIN)

# How a model's own Jinja reveals its family: the turn marker it writes.
_FAMILY_MARKERS = (("<|im_start|>", "chatml"), ("<|start_header_id|>", "llama-3.1"))


def resolve_chat_template(name: str | None, tokenizer: Any) -> ChatTemplate:
    """The template the ``chat_template`` parameter names, checked against ``tokenizer``.

    ``None``/``"model"`` keeps the tokenizer's own Jinja (its family's Ollama form and stops),
    so the fine-tune speaks exactly the layout the base model was instructed in.

    Raises:
        ValueError: unknown name, a model template of no known family, or a tokenizer that
            lacks the template's marker tokens (the message names the parameter key).
    """
    if name is None or name == MODEL:
        own = getattr(tokenizer, "chat_template", None)
        if not own:
            raise ValueError(
                f"Parameter `{PARAMETER_KEY}: {MODEL}` asks for the model's own chat template, "
                f"but the tokenizer has none; set `{PARAMETER_KEY}` to one of {list(BUILTIN)}."
            )
        family = next((fam for marker, fam in _FAMILY_MARKERS if marker in own), None)
        if family is None:
            raise ValueError(
                f"Parameter `{PARAMETER_KEY}: {MODEL}`: the tokenizer's chat template is neither "
                f"ChatML nor LLaMA-3 style, so no Ollama template matches it; set "
                f"`{PARAMETER_KEY}` to one of {list(BUILTIN)}."
            )
        template = replace(BUILTIN[family], jinja=own)
    elif name in BUILTIN:
        template = BUILTIN[name]
    else:
        raise ValueError(
            f"Unknown chat template {name!r} in parameter `{PARAMETER_KEY}`; "
            f"choose one of {list(CHOICES)}."
        )
    vocab = tokenizer.get_vocab()
    missing = [token for token in template.special_tokens if token not in vocab]
    if missing:
        raise ValueError(
            f"Parameter `{PARAMETER_KEY}: {name}` ({template.name}) needs the tokens {missing}, "
            f"which this tokenizer does not have; choose a template of its own family "
            f"(`{PARAMETER_KEY}: {MODEL}`)."
        )
    return template


def apply_chat_template(tokenizer: Any, template: ChatTemplate) -> Any:
    """A copy of ``tokenizer`` whose ``chat_template`` is ``template``'s, saved with it."""
    copied = copy.deepcopy(tokenizer)
    copied.chat_template = template.jinja
    return copied


def render(
    tokenizer: Any,
    template: ChatTemplate,
    messages: Sequence[Mapping[str, str]],
    add_generation_prompt: bool = False,
) -> str:
    """The exact text ``messages`` become under ``template`` (what training tokenizes)."""
    return tokenizer.apply_chat_template(
        [dict(message) for message in messages],
        chat_template=template.jinja,
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
    )


COUNT_BATCH = 512  # conversations tokenized per call by count_tokens_many


def count_tokens(
    tokenizer: Any, template: ChatTemplate, messages: Sequence[Mapping[str, str]]
) -> int:
    """Tokens of the rendered conversation, as the trainer will see it (no special tokens added
    twice: the template already writes BOS where the model wants one)."""
    return count_tokens_many(tokenizer, template, [messages])[0]


def count_tokens_many(
    tokenizer: Any, template: ChatTemplate, conversations: Sequence[Sequence[Mapping[str, str]]]
) -> list[int]:
    """``count_tokens`` of each conversation, tokenized in batches (a fast tokenizer encodes a
    batch on every core; one call per conversation cost 14 s for 19,000 of them). Batches of
    ``COUNT_BATCH`` keep the token lists alive at once small (all at once: +0.9 GB)."""
    counts: list[int] = []
    for start in range(0, len(conversations), COUNT_BATCH):
        texts = [render(tokenizer, template, m) for m in conversations[start : start + COUNT_BATCH]]
        encoded = tokenizer(texts, add_special_tokens=False, return_attention_mask=False)
        counts += [len(ids) for ids in encoded["input_ids"]]
    return counts
