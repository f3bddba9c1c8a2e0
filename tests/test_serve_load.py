"""A real uvicorn server on 127.0.0.1 under concurrent load: every answer is right and micro-batching forms batches."""

import io
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from urllib.request import urlopen

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import encode, export_tiny_model, smooth_image
from tool_helpers import REPO, load_tool, run_in_process, run_subprocess

from paddlefcn.deploy import Predictor

pytest.importorskip("fastapi", reason="needs the serve extra: pip install -e '.[serve]'")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

run_load = load_tool("loadtest").run_load
REQUESTS, CLIENTS, TIME_LIMIT = 200, 8, 60.0
SIZES = [(64, 64), (48, 80), (64, 64), (33, 47)]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return export_tiny_model(tmp_path_factory.mktemp("serve_load"))


@contextmanager
def server(export_dir, log_file, *flags):
    """``tools/serve.py`` on a free port of 127.0.0.1 (``--port 0``); yields its URL and stops it afterwards."""
    cmd = [sys.executable, str(REPO / "tools" / "serve.py"), "--model-dir", str(export_dir), "--port", "0", *flags]
    env = dict(os.environ, OMP_NUM_THREADS="2")
    with open(log_file, "w") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"serving .* at (http://127\.0\.0\.1:\d+)/", log_file.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log_file.read_text()
            time.sleep(0.1)
        yield found.group(1)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_metrics(url):
    """``{(sample name, status or le label): value}`` from the server's GET /metrics."""
    with urlopen(f"{url}/metrics", timeout=10) as response:
        families = text_string_to_metric_families(response.read().decode())
        return {(s.name, s.labels.get("le") or s.labels.get("status")): s.value for f in families for s in f.samples}


def test_concurrent_clients_get_correct_masks_in_micro_batches(export_dir, tmp_path):
    images = [smooth_image(h, w, seed) for seed, (h, w) in enumerate(SIZES)]
    bodies = [encode(image) for image in images]
    predictor = Predictor(export_dir)
    expected = [predictor.predict([image])[0] for image in images]
    flags = ["--max-batch", "8", "--max-queue", "16", "--log-level", "warning"]
    with server(export_dir, tmp_path / "server.log", *flags) as url:
        start = time.monotonic()
        answers, _ = run_load(url, bodies, REQUESTS, CLIENTS, TIME_LIMIT, content_type="image/png")
        assert time.monotonic() - start < TIME_LIMIT
        metrics = read_metrics(url)
    assert len(answers) == REQUESTS
    for answer in answers:
        assert answer.status == 200, answer.body[:200]
        with Image.open(io.BytesIO(answer.body)) as mask:
            np.testing.assert_array_equal(np.asarray(mask), expected[answer.index])
    assert metrics[("paddlefcn_predict_requests_total", "200")] == REQUESTS
    assert metrics[("paddlefcn_batch_size_sum", None)] == REQUESTS, "every image ran exactly once"
    batches, singles = metrics[("paddlefcn_batch_size_count", None)], metrics[("paddlefcn_batch_size_bucket", "1.0")]
    assert batches > singles, "micro-batching formed batches of more than one image"
    assert metrics[("paddlefcn_queue_depth", None)] == 0


def test_the_load_test_tool_prints_a_line_per_load_and_a_table(export_dir, tmp_path):
    with server(export_dir, tmp_path / "server.log", "--max-batch", "2", "--log-level", "warning") as url:
        flags = ["--sizes", "32", "32x48", "--requests", "8", "--concurrency", "2", "--runs", "1", "--warmup", "1"]
        result = run_subprocess("loadtest", "--url", url, *flags)
    assert result.returncode == 0, result.stderr
    label = "paddle fp32, max batch 2"
    assert re.search(rf"^run 1 32x32 {label}: [\d.]+ req/s, p50 \d+ ms, p99 \d+ ms, 0 failed", result.stdout, re.M)
    assert re.search(rf"^run 1 32x48 {label}: ", result.stdout, re.M), "--sizes takes HxW"
    assert f"| image | server | req/s | p50 | p99 | req/s vs {label} (same run) |" in result.stdout
    assert re.search(rf"^\| 32x32 \| {label} \| [\d.]+ \| \d+ ms \| \d+ ms \| 1\.00x \|$", result.stdout, re.M)


def test_the_load_test_tool_without_a_server_is_one_line(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once the socket is closed: nothing listens there
    assert run_in_process("loadtest", "--url", f"http://127.0.0.1:{port}") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: no paddlefcn server answers at http://127.0.0.1:{port} ("), lines
