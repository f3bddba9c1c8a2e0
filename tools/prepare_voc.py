"""Build VOCAug (VOC2012 + SBD): python tools/prepare_voc.py --voc-root DIR --sbd-root DIR --out DIR."""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import base_parser, output_dir, run_tool
from paddlefcn.data.prepare_voc import MissingSourcesError, prepare_voc


def main(args: argparse.Namespace) -> int:
    try:
        prepare_voc(args.voc_root, args.sbd_root, args.out)
    except MissingSourcesError as err:
        print(err.instructions)
        raise
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser(
        "Convert SBD labels and write the VOCAug layout (train_aug: 10582 images, val: 1449). "
        "Safe to re-run: existing outputs are kept, so an interrupted run resumes.",
        config_required=None,
    )
    parser.add_argument("--voc-root", required=True, help="VOCdevkit/VOC2012 (or VOCdevkit)")
    parser.add_argument("--sbd-root", required=True, help="SBD benchmark_RELEASE (or its dataset/ folder)")
    parser.add_argument(
        "--out", type=output_dir, required=True, help="output directory, the root of the VOCAug dataset"
    )
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
