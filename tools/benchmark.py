"""Measure training, validation and inference speed and peak memory of a config on this device.

python tools/benchmark.py -c configs/quickstart.yml [--batch-size B] [--size H W] [--latency-size H W [H W ...]]
    [--latency-batch B [B ...]] [--precisions fp32 bf16 int8] [--weights W] [--latency-only] [--iters N] [--json OUT]

Latency rows: the fp32 export on Paddle Inference and ONNX Runtime, the bf16 export on Paddle Inference and the int8
export on ONNX Runtime, side by side in this process (alternating rounds), at every latency size and batch size.
"""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import base_parser, load_experiment, output_dir, output_file, run_tool
from paddlefcn.deploy.precision import PRECISIONS
from paddlefcn.errors import PaddleFCNError


def main(args: argparse.Namespace) -> int:
    from paddlefcn.benchmark import BenchmarkOptions, format_table, write_json

    sizes = args.latency_size
    if sizes is not None and len(sizes) % 2:
        raise PaddleFCNError(f"--latency-size needs H W pairs, got {len(sizes)} numbers")
    options = BenchmarkOptions(
        batch_size=args.batch_size,
        size=args.size,
        latency_sizes=None if sizes is None else [sizes[i : i + 2] for i in range(0, len(sizes), 2)],
        latency_batches=args.latency_batch,
        precisions=args.precisions,
        weights=args.weights,
        latency_only=args.latency_only,
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
        "--latency-size",
        type=int,
        nargs="+",
        metavar="H W",
        help="latency input sizes, H W pairs: --latency-size 180 240 360 480 (default: --size)",
    )
    parser.add_argument(
        "--latency-batch", type=int, nargs="+", default=[1], metavar="B", help="latency batch sizes (default 1)"
    )
    parser.add_argument(
        "--precisions",
        nargs="+",
        choices=PRECISIONS,
        default=list(PRECISIONS),
        help="exports timed: fp32 (always, the baseline), bf16 (Paddle Inference, CPUs with AVX-512 BF16), int8 "
        "(ONNX Runtime, calibrated as the config's export section says, e.g. -o export.calib_images=16); default all",
    )
    parser.add_argument("--weights", help="weights of the exports timed (default: random)")
    parser.add_argument(
        "--latency-only", action="store_true", help="time the exports only: no training, validation or dygraph"
    )
    parser.add_argument("--iters", type=int, default=20, help="timed training iterations (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations / runs first (default 3, at least 1)")
    parser.add_argument("--val-batches", type=int, default=50, help="timed val batches (default 50)")
    parser.add_argument(
        "--latency-runs", type=int, default=30, help="timed inferences per engine and input (default 30)"
    )
    parser.add_argument(
        "--work-dir", type=output_dir, help="keep the training run and the export here (default: a temporary dir)"
    )
    parser.add_argument("--json", type=output_file, help="write the results to this JSON file")
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
