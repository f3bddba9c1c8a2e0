"""Evaluate trained weights: python tools/val.py -c CFG --weights W [--mode slide --crop-size H W] [--out m.json]."""

from __future__ import annotations

import argparse
import sys

import paddle.distributed as dist

from paddlefcn.checks import check_int, require
from paddlefcn.cli import base_parser, load_tool_config, output_file, run_tool
from paddlefcn.data import dataset_meta
from paddlefcn.engine.evaluator import evaluate
from paddlefcn.engine.inference import add_inference_arguments, inference_options
from paddlefcn.engine.metrics import format_table, save_metrics
from paddlefcn.engine.runner import build_val_loader, setup_runtime
from paddlefcn.engine.weights import load_trained_model
from paddlefcn.errors import ConfigError


def main(args: argparse.Namespace) -> int:
    cfg = load_tool_config(args)
    setup_runtime(cfg)
    eval_cfg = cfg.get("eval", {})
    options = inference_options(eval_cfg, args)
    batch_size = check_int(eval_cfg.get("batch_size", 1), "eval.batch_size")
    val_cfg = require(cfg, "data.val")
    meta = dataset_meta(val_cfg)
    model = load_trained_model(require(cfg, "model"), args.weights)
    if model.num_classes != meta.num_classes:
        raise ConfigError(f"model.num_classes is {model.num_classes} but data.val has {meta.num_classes} classes")
    num_workers = check_int(cfg["data"].get("num_workers", 0), "data.num_workers", minimum=0)
    _, loader = build_val_loader(val_cfg, batch_size, num_workers)
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
