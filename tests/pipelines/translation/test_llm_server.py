"""The llm backend against a real OpenAI-compatible server: llama-cpp-python's own, on 127.0.0.1.

The model is the embedded SmolLM2-135M-Instruct GGUF: its Spanish is poor and it often answers
with made-up code; what is tested is the mechanics (requests, retries through a fault-injecting
proxy, the cache, the reverse direction, and rows kept only with their code intact).
"""

from __future__ import annotations

import inspect
import re
import shutil
import socket
import string
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator

import pandas as pd
import pytest

from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.pipelines.translation.backends import build_backend
from python_tutor.pipelines.translation.engine import translate_segments
from python_tutor.pipelines.translation.nodes import (
    _plan_field,
    check_translations,
    translate_examples,
)
from python_tutor.pipelines.translation.protect import Protector
from tests.conftest import SMOLLM2_GGUF, smollm2_package_dir

from .fakes import ChatStub
from .test_backends import _NoCache

pytestmark = pytest.mark.slow

STARTUP_S = 120
# Real docstrings of the standard library: hard-wrapped prose with inline code, as in
# CodeSearchNet-shaped sources (function + docstring).
FUNCTIONS = (shutil.which, string.capwords, textwrap.dedent)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on SmolLM2, on a free loopback port; yields its /v1 URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_package_dir() / SMOLLM2_GGUF),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited {server.returncode}:\n{log.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_S} s")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def proxy(llama_server) -> Iterator[ChatStub]:
    """A stub in front of the real server: counts requests and injects scripted failures."""
    stub = ChatStub(upstream=llama_server)
    yield stub
    stub.close()


def smollm2(params, url: str) -> dict:
    """``translation.backend`` for the server; a prompt this small model follows best."""
    llm = {
        **params["backend"]["llm"],
        "base_url": url,
        "model": "smollm2",
        "system_prompt": "",  # SmolLM2-135M translates a plain request more often
        "user_template": "Translate to {target_language}: {text}",
        "max_tokens": 64,
        "timeout_s": 120,
    }
    return {**params["backend"], "name": "llm", "llm": llm}


def segments_of(text: str, params) -> list[str]:
    """The masked sentences the node sends for ``text`` (its own planner, whatever it does)."""
    protector = Protector.from_params(params["protect"])
    max_chars = params["backend"]["llm"]["max_chars"]
    return _plan_field(text, protector, params["segment"]["reflow"], max_chars).segments


def docstring_segments(params) -> list[str]:
    """The masked sentences of the docstrings in FUNCTIONS."""
    return [s for function in FUNCTIONS for s in segments_of(inspect.getdoc(function), params)]


def test_engine_retries_through_the_proxy_fills_the_cache_then_serves_it(params, proxy, tmp_path):
    segments = docstring_segments(params)[:8]
    backend = build_backend(smollm2(params, proxy.url), 1)
    cache = TranslationCache(tmp_path / "cache")
    batching = {"batch_size": 1, "batch_max_chars": 1000, "concurrency": 2}
    retry = {**params["retry"], "initial_wait_s": 0.01, "max_wait_s": 0.05}
    proxy.script = [(429, '{"error": "busy"}', 0), (500, '{"error": "oops"}', 0), (200, None, 0)]
    try:
        translations, failures, stats = translate_segments(
            segments, backend, cache, batching, retry
        )
    finally:
        backend.close()

    assert dict(stats.retries) == {"http_error": 1, "rate_limited": 1}
    assert len(proxy.requests) == len(set(segments)) + 2
    assert set(translations) | set(failures) == set(segments)
    assert {f.kind for f in failures.values()} <= {"garbage_body"}  # what the model got wrong
    assert translations, "SmolLM2 answered no segment on one line"
    assert all(t.strip() and "\n" not in t for t in translations.values())
    assert len(cache) == len(translations)
    assert cache.get_many(backend.cache_id, list(translations)) == translations

    again = build_backend(smollm2(params, proxy.url), 1)
    sent_before = len(proxy.requests)
    try:
        _, _, second = translate_segments(segments, again, cache, batching, retry)
    finally:
        again.close()
    assert second.cache_hits == len(translations)
    assert len(proxy.requests) - sent_before == len(failures)  # only the failed ones again


def test_reverse_asks_the_same_server_for_english(params, proxy):
    forward = build_backend(smollm2(params, proxy.url), 1)
    backward = forward.reverse()
    spanish = "Devuelve una nueva lista con todos los elementos del iterable en orden ascendente."
    try:
        translations, failures, _ = translate_segments(
            [spanish], backward, _NoCache(), params["batching"], params["retry"]
        )
    finally:
        forward.close()
        backward.close()
    assert proxy.requests[0][0]["messages"] == [
        {"role": "user", "content": f"Translate to English: {spanish}"}
    ]
    assert backward.cache_id.startswith("llm:smollm2:es-en:")
    assert set(translations) | set(failures) == {spanish}


def test_the_node_keeps_rows_only_with_their_code(params, llama_server, tmp_path):
    examples = pd.DataFrame(
        [
            {
                "example_id": f"{i:016x}",
                "source": "stdlib",
                "task": "explain",
                "instruction": "Explain what this Python function does.",
                "code": inspect.getsource(function),
                "response": inspect.getdoc(function),
            }
            for i, function in enumerate(FUNCTIONS)
        ]
    )
    cache = TranslationCache(tmp_path / "cache")
    # One segment a batch: a made-up answer fails its own segment only.
    settings = {**params["batching"], "batch_size": 1, "concurrency": 2}

    def run():
        return translate_examples(
            examples,
            cache,
            smollm2(params, llama_server),
            settings,
            params["retry"],
            params["protect"],
            params["segment"],
            False,
        )

    candidates, stats = run()
    kept, rejected, report, _ = check_translations(
        candidates, stats, params["protect"], params["quality"]
    )
    assert stats["backend"].startswith("llm:smollm2:en-es:")
    assert report["examples_in"] == len(examples) == len(kept) + len(rejected)
    assert stats["cache_entries"] == len(cache) > 0
    for row in kept.itertuples():
        assert row.code == inspect.getsource(FUNCTIONS[int(row.example_id, 16)])
        inline = re.findall(r"`[^`\n]+`", row.response_en)
        assert all(span in row.response_es for span in inline), row.response_es
    # Whatever the model got right: a row all of whose sentences are cached is kept or
    # rejected for its code; a row with one sentence the model botched fails as garbage.
    reasons = dict(zip(rejected["example_id"], rejected["reason_kind"], strict=True))
    for row in examples.itertuples():
        texts = segments_of(row.instruction, params) + segments_of(row.response, params)
        cached = cache.get_many(stats["backend"], texts)
        if len(cached) == len(set(texts)):
            assert reasons.get(row.example_id) in {None, "code_integrity"}
        else:
            assert reasons[row.example_id] == "translation_failed:garbage_body"

    _, warm = run()
    assert warm["cache_hits"] == stats["segments_translated"]
