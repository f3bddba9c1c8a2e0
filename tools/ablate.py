"""Run ablation variants and report them side by side.

python tools/ablate.py --suite upsamplers [--iters N] [--seeds K] [--out DIR]
python tools/ablate.py configs/ablation/synthetic/skip_fcn32s.yml configs/ablation/synthetic/skip_fcn8s.yml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paddlefcn.ablation.suite import DEFAULT_SUITES_FILE
from paddlefcn.cli import base_parser, output_dir, run_tool

EXIT_INTERRUPTED = 130


def main(args: argparse.Namespace) -> int:
    from paddlefcn.ablation import resolve_variants, run_ablation, write_report
    from paddlefcn.ablation.run import TrainingInterruptedError

    variants = resolve_variants(args.configs, args.suite, args.suites_file)
    out = Path(args.out or Path("output") / "ablation" / (args.suite or "custom"))
    try:
        results = run_ablation(variants, out, seeds=args.seeds, overrides=args.opts, iters=args.iters)
    except TrainingInterruptedError as err:
        print(err, file=sys.stderr)
        return EXIT_INTERRUPTED
    written = write_report(results, out)
    print(written["markdown"].read_text(encoding="utf-8"))
    print(f"written: {', '.join(str(p) for p in written.values() if p is not None)}")
    print(f"curves of every run: visualdl --logdir {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Train config variants (several seeds, resumable) and compare them.", config_required=None)
    parser.add_argument("configs", nargs="*", help="variant config files (or use --suite)")
    parser.add_argument("--suite", help="a named suite of --suites-file, e.g. upsamplers, skips, smoke")
    parser.add_argument(
        "--suites-file",
        default=DEFAULT_SUITES_FILE,
        help="YAML: suite name -> configs (default: this repository's configs/ablation/suites.yml)",
    )
    parser.add_argument("--iters", type=int, help="override train.iters of every variant")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per variant: 0 .. K-1 (default 1)")
    parser.add_argument(
        "--out", type=output_dir, help="output directory (default: output/ablation/<suite>, or .../custom for files)"
    )
    parser.add_argument(
        "-o", "--opts", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides for every variant"
    )
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
