"""Check a config's datasets: python tools/check_data.py -c CFG (exit 0 when clean, 2 otherwise)."""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import EXIT_USER_ERROR, base_parser, int_at_least, load_experiment, run_tool
from paddlefcn.data.check import check_config, format_report, format_summary


def main(args: argparse.Namespace) -> int:
    reports = check_config(load_experiment(args).cfg, tuple(args.splits), workers=args.workers)
    for report in reports:
        print(format_report(report, examples=args.examples))
    print(format_summary(reports))
    if all(r.clean for r in reports):
        print("data OK")
        return 0
    print(f"data has problems in: {', '.join(r.split for r in reports if not r.clean)}")
    return EXIT_USER_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser(
        "Scan the datasets of a config for missing or corrupt files, size mismatches, label values out of "
        "range and empty lists; explain how the labels are encoded (the dataset's table, label_map, a label_map "
        "for values out of range, colours not in the palette); print class pixel frequencies, classes never "
        "seen and the share of ignored pixels."
    )
    parser.add_argument("--splits", nargs="+", default=["train", "val"], help="data sections to check")
    parser.add_argument(
        "--examples", type=int_at_least(0), default=5, help="messages shown per kind of problem (default 5)"
    )
    parser.add_argument("--workers", type=int_at_least(1), default=4, help="threads reading files (default 4)")
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
