"""Load-test running servers: requests/s and latency percentiles with concurrent clients.

python tools/loadtest.py --url http://127.0.0.1:8001 [--url URL ...] [--sizes 256 512 360x480]
    [--requests 200] [--concurrency 8] [--runs 3] [--warmup 16]

Each client is a thread with one keep-alive connection, posting JPEG images of the given sizes (smooth random
pixels, seeded) to ``/predict`` and timing each answer. Runs alternate between the URLs, so the ratios of the
servers hold under a changing machine load; the table reports medians over the runs.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from paddlefcn.cli import base_parser, int_at_least, run_tool
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.timing import percentiles


@dataclass
class Answer:
    """One request: which body was sent, the HTTP status (0: no answer), the seconds it took and the answer."""

    index: int
    status: int
    seconds: float
    body: bytes


@dataclass
class Summary:
    """Throughput and latency of the successful answers of one load."""

    ok: int
    failed: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def run_load(
    url: str,
    bodies: Sequence[bytes],
    requests: int,
    concurrency: int,
    time_limit: float = 600.0,
    path: str = "/predict",
    content_type: str = "image/jpeg",
) -> tuple[list[Answer], float]:
    """Posts ``requests`` bodies (``bodies`` in turn) from ``concurrency`` clients, stopping at ``time_limit`` s.

    Returns:
        The answers in request order and the wall-clock seconds of the whole load.
    """
    parts = urlsplit(url)
    counter = itertools.count()
    lock = threading.Lock()
    answers: list[Answer] = []
    deadline = time.monotonic() + time_limit

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=time_limit)
        try:
            while True:
                with lock:
                    number = next(counter)
                if number >= requests or time.monotonic() > deadline:
                    return
                index = number % len(bodies)
                answer = _post(connection, path, bodies[index], content_type, index)
                with lock:
                    answers.append((number, answer))
        finally:
            connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 5.0)
    seconds = time.perf_counter() - start
    with lock:
        return [answer for _, answer in sorted(answers, key=lambda pair: pair[0])], seconds


def _post(connection: http.client.HTTPConnection, path: str, body: bytes, content_type: str, index: int) -> Answer:
    start = time.perf_counter()
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        data = response.read()
        return Answer(index, response.status, time.perf_counter() - start, data)
    except (OSError, http.client.HTTPException) as err:
        connection.close()  # reconnects on the next request
        return Answer(index, 0, time.perf_counter() - start, str(err).encode())


def summarize(answers: Sequence[Answer], seconds: float) -> Summary:
    """Requests per second (successful answers over the wall-clock time) and p50/p99 latency in ms."""
    latencies = [a.seconds * 1000 for a in answers if a.status == 200]
    if not latencies:
        return Summary(0, len(answers), 0.0, float("nan"), float("nan"))
    p50, p99 = percentiles(latencies, 50, 99)
    return Summary(len(latencies), len(answers) - len(latencies), len(latencies) / seconds, p50, p99)


def load_images(size: tuple[int, int], count: int = 4, seed: int = 0) -> list[bytes]:
    """``count`` JPEG images of ``size`` (height, width) smooth random pixels."""
    height, width = size
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        coarse = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(coarse).resize((width, height), Image.BILINEAR).save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


def server_label(url: str) -> str:
    """``<backend> <precision>, max batch B`` from the server's ``GET /model``."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", "/model")
        info = json.loads(connection.getresponse().read())
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise PaddleFCNError(f"no paddlefcn server answers at {url} ({err})") from None
    finally:
        connection.close()
    precision = info.get("precision", "fp32")  # servers older than precision exports serve fp32
    return f"{info['backend']} {precision}, max batch {info['limits']['max_batch']}"


def main(args: argparse.Namespace) -> int:
    labels = [server_label(url) for url in args.url]
    loads: list[float] = []
    results: dict[tuple[str, int], list[Summary]] = {}
    ratios: dict[tuple[str, int], list[float]] = {}
    for run in range(1, args.runs + 1):
        for height, width in args.sizes:
            size = f"{height}x{width}"
            bodies = load_images((height, width))
            for position, url in enumerate(args.url):
                run_load(url, bodies, args.warmup, args.concurrency)
                summary = summarize(*run_load(url, bodies, args.requests, args.concurrency, args.time_limit))
                loads.append(os.getloadavg()[0])
                results.setdefault((size, position), []).append(summary)
                first = results[(size, 0)][-1].requests_per_second
                ratios.setdefault((size, position), []).append(summary.requests_per_second / first if first else 0.0)
                print(
                    f"run {run} {size} {labels[position]}: {summary.requests_per_second:.2f} req/s, "
                    f"p50 {summary.p50_ms:.0f} ms, p99 {summary.p99_ms:.0f} ms, {summary.failed} failed "
                    f"(load average {loads[-1]:.2f})",
                    flush=True,
                )
    print(
        f"\nmedians of {args.runs} runs, {args.requests} requests from {args.concurrency} clients each, "
        f"{os.cpu_count()} CPUs, 1-minute load average after the loads {min(loads):.2f}-{max(loads):.2f}:\n"
    )
    print(f"| image | server | req/s | p50 | p99 | req/s vs {labels[0]} (same run) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (size, position), summaries in results.items():
        rps = statistics.median(s.requests_per_second for s in summaries)
        p50 = statistics.median(s.p50_ms for s in summaries)
        p99 = statistics.median(s.p99_ms for s in summaries)
        ratio = statistics.median(ratios[(size, position)])
        print(f"| {size} | {labels[position]} | {rps:.2f} | {p50:.0f} ms | {p99:.0f} ms | {ratio:.2f}x |")
    failed = sum(s.failed for summaries in results.values() for s in summaries)
    return 1 if failed else 0


def image_size(value: str) -> tuple[int, int]:
    """``--sizes`` entry: ``N`` (N x N) or ``HxW``, each side at least 16."""
    parts = value.lower().split("x")
    try:
        sides = [int(part) for part in parts]
    except ValueError:
        sides = []
    if len(sides) not in (1, 2) or min(sides) < 16:
        raise argparse.ArgumentTypeError(f"expected a side N or HxW of at least 16 each, got {value!r}")
    return (sides[0], sides[-1])


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Load-test running paddlefcn servers.", config_required=None)
    parser.add_argument("--url", action="append", required=True, help="a server (repeat to compare several)")
    parser.add_argument(
        "--sizes",
        type=image_size,
        nargs="+",
        default=[(256, 256), (512, 512)],
        metavar="N|HxW",
        help="image sizes: a side (square) or HxW, e.g. 512 360x480 (default 256 512)",
    )
    parser.add_argument("--requests", type=int_at_least(1), default=200, help="timed requests per load (default 200)")
    parser.add_argument("--concurrency", type=int_at_least(1), default=8, help="concurrent clients (default 8)")
    parser.add_argument("--runs", type=int_at_least(1), default=3, help="runs over every size and URL (default 3)")
    parser.add_argument("--warmup", type=int_at_least(0), default=16, help="untimed requests first (default 16)")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds a load may take (default 600)")
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
