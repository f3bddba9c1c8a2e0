"""Segment images with an exported model: python tools/infer.py --model-dir D --input IMG|DIR --save-dir OUT.

For each image ``<stem>.<ext>`` it writes ``<stem>.png`` (a palette PNG of class indices) and
``<stem>_overlay.jpg`` to the save directory. ``--benchmark`` also reports the model's latency.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from paddlefcn.cli import add_predictor_arguments, base_parser, int_at_least, output_dir, predictor_options, run_tool
from paddlefcn.data import read_image
from paddlefcn.deploy import Predictor, list_images, predict_files
from paddlefcn.utils.timing import measure_latency


def main(args: argparse.Namespace) -> int:
    predictor = Predictor(args.model_dir, batch_size=args.batch_size, **predictor_options(args))
    images = list_images(args.input)
    written = predict_files(predictor, images, args.save_dir)
    print(f"wrote {len(written)} masks and overlays to {args.save_dir} ({predictor.describe()})")
    if args.benchmark:
        first = predictor.preprocess(read_image(images[0]))
        batch = np.repeat(first[None], predictor.batch_size, axis=0)
        latency = measure_latency(lambda: predictor.run(batch), args.warmup, args.repeats)
        shape = "x".join(str(d) for d in batch.shape)
        print(f"latency of a {shape} batch: {latency}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Segment images with a model written by tools/export.py.", config_required=None)
    parser.add_argument("--model-dir", required=True, help="the export directory (holding deploy.yaml)")
    parser.add_argument("--input", required=True, help="an image or a directory of images")
    parser.add_argument("--save-dir", type=output_dir, required=True, help="output directory")
    parser.add_argument("--batch-size", type=int, default=1, help="images run at once (default 1)")
    add_predictor_arguments(parser)
    parser.add_argument("--benchmark", action="store_true", help="also time the model on the first image")
    parser.add_argument(
        "--warmup", type=int_at_least(0), default=3, help="untimed runs before --benchmark timing (default 3)"
    )
    parser.add_argument("--repeats", type=int_at_least(1), default=20, help="timed runs for --benchmark (default 20)")
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
