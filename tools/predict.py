"""Segment images: python tools/predict.py -c CFG --weights W --input IMG|DIR --save-dir D.

For each image ``<stem>.<ext>`` it writes ``<stem>.png`` (a palette PNG of class indices) and
``<stem>_overlay.jpg`` (the colours blended over the image) to the save directory.
"""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import add_inference_arguments, base_parser, inference_flags, load_experiment, output_dir, run_tool


def main(args: argparse.Namespace) -> int:
    experiment = load_experiment(args)
    written = experiment.predict(args.weights, args.input, args.save_dir, args.alpha, **inference_flags(args))
    print(f"wrote {len(written)} masks and overlays to {args.save_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Segment images with a trained FCN; writes palette masks and overlays.")
    parser.add_argument("--weights", required=True, help="a .pdparams file or a checkpoint directory")
    parser.add_argument("--input", required=True, help="an image or a directory of images")
    parser.add_argument("--save-dir", type=output_dir, required=True, help="output directory")
    parser.add_argument("--alpha", type=float, default=0.5, help="mask opacity in the overlays (default 0.5)")
    add_inference_arguments(parser)
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
