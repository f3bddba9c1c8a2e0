"""Segment images: python tools/predict.py -c CFG --weights W --input IMG|DIR --save-dir D.

For each image ``<stem>.<ext>`` it writes ``<stem>.png`` (a palette PNG of class indices) and
``<stem>_overlay.jpg`` (the colours blended over the image) to the save directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paddlefcn.checks import require
from paddlefcn.cli import base_parser, load_tool_config, output_dir, run_tool
from paddlefcn.data import build_transforms, list_images, read_image
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.inference import add_inference_arguments, inference_options, predict_mask
from paddlefcn.engine.runner import setup_runtime
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.visualize import save_prediction


def main(args: argparse.Namespace) -> int:
    if not 0.0 <= args.alpha <= 1.0:
        raise PaddleFCNError(f"--alpha must be in [0, 1], got {args.alpha}")
    cfg = load_tool_config(args)
    setup_runtime(cfg)
    options = inference_options(cfg.get("eval", {}), args)
    build = Builder(cfg)
    meta = build.meta("val")
    transforms = build_transforms(require(cfg, "data.val").get("transforms"))
    images = list_images(args.input)
    model = build.model(args.weights)
    save_dir = Path(args.save_dir)
    for path in images:
        image = read_image(path)
        mask = predict_mask(model, image, transforms, **options)
        save_prediction(save_dir, path.stem, image, mask, meta.palette, args.alpha, meta.ignore_index)
    print(f"wrote {len(images)} masks and overlays to {save_dir}")
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
