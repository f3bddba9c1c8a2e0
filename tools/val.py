"""Evaluate trained weights: python tools/val.py -c CFG --weights W [--mode slide --crop-size H W] [--out m.json]."""

from __future__ import annotations

import argparse
import sys

import paddle.distributed as dist

from paddlefcn.cli import add_inference_arguments, base_parser, inference_flags, load_experiment, output_file, run_tool
from paddlefcn.engine.metrics import format_table, save_metrics


def main(args: argparse.Namespace) -> int:
    experiment = load_experiment(args)
    metrics = experiment.evaluate(args.weights, **inference_flags(args))
    if dist.get_rank() == 0:
        print(format_table(metrics, experiment.meta.class_names))
        if args.out:
            save_metrics(args.out, metrics)
            print(f"metrics written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Evaluate a trained FCN on the config's validation set.")
    parser.add_argument("--weights", required=True, help="a .pdparams file or a checkpoint directory")
    parser.add_argument("--out", type=output_file, help="also write the metrics as JSON to this file")
    add_inference_arguments(parser)
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
