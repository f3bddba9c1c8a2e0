"""Measure training, validation and inference speed and peak memory of a config on this device.

python tools/benchmark.py -c configs/quickstart.yml [--batch-size B] [--size H W] [--latency-size H W]
    [--iters N] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import base_parser, load_experiment, output_dir, output_file, run_tool


def main(args: argparse.Namespace) -> int:
    from paddlefcn.benchmark import BenchmarkOptions, format_table, write_json

    options = BenchmarkOptions(
        batch_size=args.batch_size,
        size=args.size,
        latency_size=args.latency_size,
        iters=args.iters,
        warmup=args.warmup,
        val_batches=args.val_batches,
        latency_runs=args.latency_runs,
    )
    result = load_experiment(args).benchmark(options, args.work_dir)
    print(format_table(result))
    if args.json:
        write_json(result, args.json)
        print(f"written: {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Benchmark training, validation and exported inference of a config on this device.")
    parser.add_argument("--batch-size", type=int, help="training batch size (default: train.batch_size)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="input size (default: the loader's)")
    parser.add_argument(
        "--latency-size", type=int, nargs=2, metavar=("H", "W"), help="latency input size (default: --size)"
    )
    parser.add_argument("--iters", type=int, default=20, help="timed training iterations (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations / runs first (default 3, at least 1)")
    parser.add_argument("--val-batches", type=int, default=50, help="timed val batches (default 50)")
    parser.add_argument("--latency-runs", type=int, default=30, help="timed inferences per backend (default 30)")
    parser.add_argument(
        "--work-dir", type=output_dir, help="keep the training run and the export here (default: a temporary dir)"
    )
    parser.add_argument("--json", type=output_file, help="write the results to this JSON file")
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
