"""One prompt, token for token: training, llama.cpp and Ollama feed the model the same ids.

For both chat layouts, on a tiny random LLaMA whose tokenizer carries the layout as training
saves it (``chatml`` on SmolLM2's tokenizer, ``llama-3.1`` on a LLaMA-3-style one whose GGUF
adds BOS by its vocabulary rule, as Llama 3.2's does), and a real GGUF from llama.cpp's
converter:

- training: the tokenizer's chat template applied as TRL's SFTTrainer applies it to the prompt
  (``apply_chat_template(tokenize=True, return_dict=True, add_generation_prompt=True)``,
  tests.conftest.trained_prompt_ids);
- llama.cpp: ``python_tutor.gguf_chat.prompt_tokens`` (what evaluation and the chat use: the
  GGUF's own template and add_bos, as llama.cpp's server), and llama-cpp-python's own chat
  handler for the GGUF's metadata template (Jinja2ChatFormatter);
- Ollama: the Modelfile the export writes, its TEMPLATE rendered by Go's real text/template
  with Ollama's data shape, tokenized as Ollama's runner does (special tokens parsed, BOS and
  EOS only where the vocabulary says: llama_tokenize's add_special).
"""

from __future__ import annotations

import pytest

from python_tutor.chat_templates import BUILTIN
from python_tutor.gguf_chat import chat_messages, prompt_tokens
from python_tutor.modelfile import parse_modelfile, render_modelfile
from tests.conftest import trained_prompt_ids

pytestmark = pytest.mark.slow

SYSTEM = "Eres un tutor de Python. Responde en español, con ejemplos breves."
QUESTION = "¿Qué hace este código?\n\n```python\nfor i in range(3):\n    print(i)\n```"
ANSWER = "Imprime 0, 1 y 2, uno por línea.\n\n```python\n0\n1\n2\n```"
FOLLOW_UP = "¿Y si uso `range(1, 4)`? "

ONE_TURN = [{"role": "user", "content": QUESTION}]
SEVERAL_TURNS = [
    *ONE_TURN,
    {"role": "assistant", "content": ANSWER},
    {"role": "user", "content": FOLLOW_UP},
    {"role": "assistant", "content": "Imprime 1, 2 y 3."},
    {"role": "user", "content": "Gracias. ¿Y `list(range(0))`?"},
]
OWN_SYSTEM = {"role": "system", "content": "Responde sólo con código."}

# (Modelfile SYSTEM, the chat request, the conversation the model must see), the last written
# out by hand: Ollama puts the Modelfile's SYSTEM first unless the request has a system turn.
CASES = {
    "system, one turn": (SYSTEM, ONE_TURN, [{"role": "system", "content": SYSTEM}, *ONE_TURN]),
    "no system, one turn": ("", ONE_TURN, ONE_TURN),
    "system, several turns": (
        SYSTEM,
        SEVERAL_TURNS,
        [{"role": "system", "content": SYSTEM}, *SEVERAL_TURNS],
    ),
    "no system, several turns": ("", SEVERAL_TURNS, SEVERAL_TURNS),
    "the chat's own system turn": (
        SYSTEM,
        [OWN_SYSTEM, *SEVERAL_TURNS],
        [OWN_SYSTEM, *SEVERAL_TURNS],
    ),
}


@pytest.fixture(scope="module", params=sorted(BUILTIN))
def tutor(request, trained_tutor):
    """(layout, tokenizer as training saved it, the GGUF loaded in llama.cpp)."""
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    checkpoint, gguf = trained_tutor(request.param)
    llama = Llama(model_path=str(gguf), n_ctx=512, n_threads=1, verbose=False)
    return request.param, AutoTokenizer.from_pretrained(checkpoint), llama


def llama_cpp_handler_ids(llama, conversation, completion_calls) -> list[int]:
    """The ids llama-cpp-python's chat handler for the GGUF's template sends the model."""
    llama.reset()
    llama.create_chat_completion(messages=conversation, max_tokens=1)
    return completion_calls[-1][0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_llama_cpp_and_ollama_give_the_same_ids(
    tutor, case, render_ollama, completion_calls
):
    layout, tokenizer, llama = tutor
    system, request, conversation = CASES[case]
    modelfile = parse_modelfile(render_modelfile("tutor.Q8_0.gguf", BUILTIN[layout], system, {}))

    trained = trained_prompt_ids(tokenizer, conversation)
    served = prompt_tokens(llama, chat_messages(modelfile, request))
    handler = llama_cpp_handler_ids(llama, conversation, completion_calls)
    ollama_text = render_ollama(modelfile["template"], modelfile["system"], request)
    ollama = llama.tokenize(ollama_text.encode("utf-8"), add_bos=True, special=True)

    if layout == "llama-3.1":  # exactly one BOS, first
        assert trained.count(tokenizer.bos_token_id) == 1 and trained[0] == tokenizer.bos_token_id
    assert served == trained, tokenizer.decode(served)
    assert handler == trained, tokenizer.decode(handler)
    assert ollama == trained, ollama_text
