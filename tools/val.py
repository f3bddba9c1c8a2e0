"""Evaluate trained weights: python tools/val.py -c CFG --weights W [--mode slide --crop-size H W] [--out m.json]."""

from __future__ import annotations

import argparse
import sys

import paddle.distributed as dist

from paddlefcn.cli import base_parser, load_tool_config, output_file, run_tool
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.evaluator import evaluate
from paddlefcn.engine.inference import add_inference_arguments, inference_options
from paddlefcn.engine.metrics import format_table, save_metrics
from paddlefcn.engine.runner import setup_runtime


def main(args: argparse.Namespace) -> int:
    cfg = load_tool_config(args)
    setup_runtime(cfg)
    options = inference_options(cfg.get("eval"), args)
    build = Builder(cfg)
    meta = build.meta("val")
    model = build.model(args.weights)
    _, loader = build.val_data()
    metrics = evaluate(model, loader, meta.num_classes, meta.ignore_index, **options)
    if dist.get_rank() == 0:
        print(format_table(metrics, meta.class_names))
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
