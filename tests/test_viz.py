"""kedro-viz as a user meets it: the API graph and the rendered page in headless Chromium."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
    "--virtual-time-budget=15000",
]

pytestmark = pytest.mark.slow


def free_port() -> int:
    """A free loopback port below 49152: kedro-viz refuses ports in the ephemeral range, where
    the kernel's own choice (bind to port 0) often lands."""
    for port in random.sample(range(20000, 49000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 49000")


@pytest.fixture(scope="module")
def viz(project_root: Path, tmp_path_factory):
    """`kedro viz run` on the real project, on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    kedro = Path(sys.executable).with_name("kedro")
    log = tmp_path_factory.mktemp("viz") / "kedro-viz.log"
    server = subprocess.Popen(
        [str(kedro), "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project_root,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/main", timeout=5).read()
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(
                    f"kedro viz exited with {server.returncode}:\n{log.read_text()[-3000:]}"
                )
            time.sleep(1)
    else:
        server.kill()
        pytest.fail("kedro viz did not answer within 120 s")
    yield url
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


def test_api_graph_holds_every_node_and_layered_versioned_dataset(viz, project_root):
    graph = json.loads(urllib.request.urlopen(f"{viz}/api/main", timeout=30).read())
    bootstrap_project(project_root)
    registered = dict(pipelines)
    task_names = {n["name"] for n in graph["nodes"] if n["type"] == "task"}
    expected = {node.name for p in registered.values() for node in p.nodes}
    assert expected <= task_names

    data = {n["name"]: n for n in graph["nodes"] if n["type"] == "data"}
    from kedro.framework.session import KedroSession

    with KedroSession.create(project_path=project_root) as session:
        catalog = session.load_context().catalog
    from python_tutor.versions import versioned_datasets

    versioned = versioned_datasets(catalog)
    assert "raw_snapshot" in versioned and "examples" in versioned
    for name in versioned:
        assert name in data, f"versioned dataset {name} missing from kedro-viz"
        assert data[name]["layer"], f"{name} has no layer in kedro-viz"
    assert {"raw", "intermediate", "reporting"} <= set(graph["layers"])
    assert set(registered) - {"__default__"} <= {p["id"] for p in graph["pipelines"]}


def test_page_renders_in_headless_chromium(viz, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "Debian package `chromium` is missing (make setup installs it)"
    screenshot = tmp_path / "viz.png"
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run(
        [chromium, *flags, f"--screenshot={screenshot}", f"{viz}/"],
        check=True,
        timeout=120,
        capture_output=True,
    )
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1600, 1000)
    assert len(png) > 30_000, "a blank page compresses to a few kB"

    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", f"{viz}/"],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    ).stdout
    for name in ("snapshot_raw_sources_node", "build_examples_node", "ingestion_report"):
        assert name in dom, f"{name} not rendered by kedro-viz"
