"""Export a trained FCN for deployment: python tools/export.py -c CFG --weights W --save-dir D [--precision int8].

Writes the inference model Paddle produces (``model.json`` with Paddle 3.x, ``model.pdmodel`` with 2.x) and
``model.pdiparams``, optionally ``model.onnx``, and ``deploy.yaml``; checks them against the dygraph model first.
``--precision int8`` writes ``model.int8.onnx`` (ONNX Runtime, calibrated on the dataset) and ``--precision bf16``
the Paddle files run with oneDNN's bfloat16 kernels; both are scored against fp32 on val images first, and refused
(nothing written) when they lose more than ``--max-miou-drop`` points of mIoU.
"""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import base_parser, int_at_least, load_experiment, output_dir, run_tool
from paddlefcn.deploy import FORMATS
from paddlefcn.deploy.precision import PRECISIONS
from paddlefcn.settings import OUTPUT_OPS, ExportSettings

DEFAULTS = ExportSettings()


def main(args: argparse.Namespace) -> int:
    experiment = load_experiment(args)
    options = {
        "calib_images": args.calib_images,
        "calib_split": args.calib_split,
        "check_images": args.check_images,
        "max_miou_drop": args.max_miou_drop,
    }
    given = {key: value for key, value in options.items() if value is not None}  # the others: the config's
    deploy = experiment.export(
        args.weights, args.save_dir, args.output_op, args.input_shape, args.format, args.precision, **given
    )
    files = ", ".join(name for entry in deploy.files.values() for name in entry.values())
    checked = (
        "checked against dygraph" if deploy.precision == "fp32" else "made from an fp32 export checked against dygraph"
    )
    what = f"{deploy.precision}, output {deploy.output_op}, {checked}"
    print(f"exported {files} and deploy.yaml to {args.save_dir} ({what})")
    if deploy.calibration:
        calibration = deploy.calibration
        print(f"calibrated on {calibration['images']} {calibration['split']} images ({calibration['method']})")
    if deploy.accuracy:
        accuracy = deploy.accuracy
        print(
            f"accuracy: val mIoU {accuracy['miou_fp32']:.4f} (fp32) -> {accuracy['miou']:.4f} ({deploy.precision}) "
            f"on {accuracy['images']} images, a drop of {accuracy['miou_drop']:.2f} points; "
            f"masks agree on {accuracy['mask_agreement']:.2%} of pixels"
        )
    elif deploy.precision != "fp32":
        print("accuracy: not measured (--check-images 0)")
    return 0


def miou_drop(value: str) -> str:
    """``--max-miou-drop``: points of mIoU (a number >= 0) or ``none``."""
    if value.strip().lower() != "none":
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected points of mIoU or none, got {value!r}") from None
        if not number >= 0:
            raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


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
    parser.add_argument(
        "--format", default=None, help=f"{' | '.join(FORMATS)} (default paddle; int8: onnx, its only format)"
    )
    group = parser.add_argument_group("precision (default: the config's export section)")
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="fp32; bf16: Paddle Inference with oneDNN bfloat16 (CPUs with AVX-512 BF16); int8: ONNX Runtime, "
        f"calibrated on the dataset (default: export.precision, else {DEFAULTS.precision})",
    )
    group.add_argument(
        "--calib-images",
        type=int_at_least(1),
        metavar="N",
        help=f"int8: images to calibrate on, spread over the split (default {DEFAULTS.calib_images})",
    )
    group.add_argument(
        "--calib-split",
        choices=("train", "val", "test"),
        help=f"int8: the data split to calibrate on (default {DEFAULTS.calib_split})",
    )
    group.add_argument(
        "--check-images",
        type=int_at_least(0),
        metavar="M",
        help="bf16/int8: val images scored by the fp32 and the reduced model, more than the split has: all of "
        f"them; 0: no check (default {DEFAULTS.check_images})",
    )
    group.add_argument(
        "--max-miou-drop",
        type=miou_drop,
        metavar="D",
        help="bf16/int8: refuse the export (nothing written) if it loses more than D points of val mIoU; "
        f"none: no limit (default {DEFAULTS.max_miou_drop})",
    )
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
