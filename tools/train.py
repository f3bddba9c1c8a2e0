"""Train an FCN: python tools/train.py -c configs/quickstart.yml [--save-dir D] [--resume auto|PATH]."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paddlefcn.cli import base_parser, load_experiment, output_dir, run_tool

EXIT_INTERRUPTED = 130


def main(args: argparse.Namespace) -> int:
    import paddle

    from paddlefcn.engine.metrics import format_table

    experiment = load_experiment(args)
    save_dir = Path(args.save_dir) if args.save_dir else experiment.default_save_dir()
    trainer = experiment.train(
        save_dir, resume=args.resume, iters=args.iters, time_budget=args.time_budget, amp=args.amp, seed=args.seed
    )
    if not trainer.completed:
        return EXIT_INTERRUPTED
    if paddle.distributed.get_rank() != 0:
        return 0
    if trainer.last_eval is not None:
        print(format_table(trainer.last_eval.metrics, trainer.evaluation.meta.class_names))
    print(f"run saved to {save_dir} (visualdl --logdir {save_dir / 'vdl'})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Train an FCN segmentation model.")
    parser.add_argument("--save-dir", type=output_dir, help="run directory (default: output/<config name>)")
    parser.add_argument("--resume", help="'auto' (latest checkpoint in --save-dir) or a checkpoint directory")
    parser.add_argument("--iters", type=int, help="override train.iters")
    parser.add_argument(
        "--time-budget", help="train for this wall time (90s, 25m, 1.5h): the run measures itself and fixes train.iters"
    )
    amp_help = "mixed precision: float16 on GPU, bfloat16 on CPU (default train.amp)"
    parser.add_argument("--amp", action="store_true", default=None, help=amp_help)
    parser.add_argument("--seed", type=int, help="random seed (default train.seed, else 0)")
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
