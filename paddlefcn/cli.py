"""What every tool shares: ``-c/-o/--debug`` arguments and one-line errors with exit status 2."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, Sequence

from paddlefcn.errors import PaddleFCNError

EXIT_USER_ERROR = 2


def base_parser(description: str, config_required: bool = True) -> argparse.ArgumentParser:
    """An argument parser with the options every tool takes."""
    parser = argparse.ArgumentParser(description=description)
    if config_required is not None:
        parser.add_argument("-c", "--config", required=config_required, help="YAML config file")
        parser.add_argument(
            "-o", "--opts", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides, e.g. train.iters=100"
        )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return parser


def run_tool(
    main: Callable[[argparse.Namespace], Optional[int]],
    parser: argparse.ArgumentParser,
    argv: Optional[Sequence[str]] = None,
) -> int:
    """Parses arguments and runs ``main``; a ``PaddleFCNError`` prints one line and returns 2."""
    args = parser.parse_args(argv)
    try:
        return main(args) or 0
    except PaddleFCNError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR


def load_tool_config(args: argparse.Namespace) -> dict:
    """Loads ``args.config`` with ``args.opts`` applied."""
    from paddlefcn.config import load_config

    return load_config(args.config, args.opts)
