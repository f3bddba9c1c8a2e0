"""Export a trained FCN for deployment: python tools/export.py -c CFG --weights W --save-dir D.

Writes the inference model Paddle produces (``model.json`` with Paddle 3.x, ``model.pdmodel`` with 2.x) and
``model.pdiparams``, optionally ``model.onnx``, and ``deploy.yaml``; checks them against the dygraph model first.
"""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import base_parser, load_experiment, output_dir, run_tool
from paddlefcn.deploy import FORMATS, OUTPUT_OPS


def main(args: argparse.Namespace) -> int:
    experiment = load_experiment(args)
    deploy = experiment.export(args.weights, args.save_dir, args.output_op, args.input_shape, args.format)
    files = ", ".join(name for entry in deploy.files.values() for name in entry.values())
    print(f"exported {files} and deploy.yaml to {args.save_dir} (output {deploy.output_op}, checked against dygraph)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Export a trained FCN as an inference model with deploy.yaml.")
    parser.add_argument("--weights", required=True, help="a .pdparams file or a checkpoint directory")
    parser.add_argument("--save-dir", type=output_dir, required=True, help="output directory")
    parser.add_argument(
        "--output-op", default=None, help=f"{' | '.join(OUTPUT_OPS)} (default: export.output_op, else argmax)"
    )
    parser.add_argument(
        "--input-shape",
        type=int,
        nargs=4,
        metavar=("N", "C", "H", "W"),
        help="input shape, -1 for a dynamic dimension (default: export.input_shape, else -1 3 -1 -1)",
    )
    parser.add_argument("--format", default="paddle", help=f"{' | '.join(FORMATS)} (default paddle)")
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
