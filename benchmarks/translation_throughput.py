"""Translation throughput: cold vs warm cache on the sample data, and web concurrency.

    KEDRO_DISABLE_TELEMETRY=true .venv/bin/python benchmarks/translation_throughput.py \
        --latency 0.05 --out benchmarks/results/translation_throughput.md

Part 1 runs ``translate_examples`` with the configured backend (Apertium by default) on the
``examples`` dataset, once with an empty cache and once with the cache it filled. Part 2 sends
the same segments to a local HTTP stand-in of Google's web translator that answers after
``--latency`` seconds, at several ``concurrency`` settings (no rate limit), to show what
bounded concurrency buys on a web backend.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.machine import machine
from python_tutor.pipelines.translation.backends import DeepTranslatorBackend
from python_tutor.pipelines.translation.engine import translate_segments
from python_tutor.pipelines.translation.nodes import translate_examples

ROOT = Path(__file__).resolve().parents[1]


def load_inputs() -> tuple:
    """The sample examples and translation parameters, through the project's catalog."""
    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT) as session:
        context = session.load_context()
        return context.catalog.load("examples"), context.params["translation"]


def cache_runs(examples, params) -> list[tuple[str, int, int, float]]:
    """(run, segments, translated by the backend, seconds) for a cold then a warm cache."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cache = TranslationCache(folder)
        for run in ("cold cache", "warm cache"):
            started = time.perf_counter()
            _, stats = translate_examples(
                examples,
                cache,
                params["backend"],
                params["batching"],
                params["retry"],
                params["protect"],
                params["segment"],
                params["translate_code_comments"],
            )
            seconds = time.perf_counter() - started
            rows.append((run, stats["segments_unique"], stats["segments_translated"], seconds))
    return rows


class _SlowStub(BaseHTTPRequestHandler):
    latency = 0.05

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)["q"][0]
        time.sleep(self.latency)
        body = f'<div class="result-container">{query}</div>'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _NoCache:
    def get_many(self, backend_id, texts):
        return {}

    def put_many(self, backend_id, pairs):
        pass


def concurrency_runs(segments, params, latency, batch_size, levels):
    """(concurrency, requests, seconds) translating ``segments`` through the slow stub."""
    _SlowStub.latency = latency
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/m"
    rows = []
    try:
        for concurrency in levels:
            backend = DeepTranslatorBackend(
                name="google",
                source="en",
                target="es",
                options={},
                base_url=url,
                max_chars=4500,
                timeout_s=10,
                requests_per_second=None,
                concurrency=concurrency,
            )
            batching = {
                "batch_size": batch_size,
                "batch_max_chars": 4500,
                "concurrency": concurrency,
            }
            started = time.perf_counter()
            _, failures, stats = translate_segments(
                segments, backend, _NoCache(), batching, params["retry"]
            )
            rows.append((concurrency, stats.batches, time.perf_counter() - started))
            backend.close()
            if failures:
                raise RuntimeError(f"stub run failed: {failures}")
    finally:
        server.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="stub seconds per request")
    parser.add_argument("--batch-size", type=int, default=8, help="segments per web request")
    parser.add_argument("--levels", default="1,2,4,8", help="concurrency settings to compare")
    parser.add_argument("--out", type=Path, help="write the markdown table here")
    args = parser.parse_args()

    examples, params = load_inputs()
    cache_rows = cache_runs(examples, params)
    segments = [f"Sentence {i} of the benchmark." for i in range(cache_rows[0][1])]
    levels = [int(x) for x in args.levels.split(",")]
    web_rows = concurrency_runs(segments, params, args.latency, args.batch_size, levels)

    base = web_rows[0][2]
    lines = [
        "# Translation throughput",
        "",
        f"Command: `KEDRO_DISABLE_TELEMETRY=true .venv/bin/python "
        f"benchmarks/translation_throughput.py --latency {args.latency} "
        f"--batch-size {args.batch_size} --levels {args.levels} --out <this file>`",
        "",
        f"Machine: {machine()} (shared), {platform.platform()}. "
        f"Sample data: {len(examples)} examples. Load average at "
        f"the end: {os.getloadavg()[0]:.1f} (other jobs share these cores: times are upper "
        "bounds).",
        "",
        f"## Cache ({params['backend']['name']} backend, batch_size "
        f"{params['batching']['batch_size']}, concurrency {params['batching']['concurrency']})",
        "",
        "| run | distinct segments | sent to backend | seconds | segments/s |",
        "|---|---:|---:|---:|---:|",
        *(f"| {run} | {n} | {sent} | {s:.2f} | {n / s:.0f} |" for run, n, sent, s in cache_rows),
        "",
        f"Warm over cold: {cache_rows[0][3] / cache_rows[1][3]:.1f}x faster "
        "(language identification is in the next node, not in these times).",
        "",
        f"## Concurrency (stubbed web backend, {args.latency * 1000:.0f} ms a request, "
        f"{args.batch_size} segments a request, no rate limit)",
        "",
        "| concurrency | requests | seconds | segments/s | speed-up |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {c} | {r} | {s:.2f} | {len(segments) / s:.0f} | {base / s:.1f}x |"
            for c, r, s in web_rows
        ),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
