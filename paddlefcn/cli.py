"""What every tool shares: ``-c/-o/--debug`` arguments and one-line errors with exit status 2."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Callable, NoReturn, Optional, Sequence

from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.utils.files import check_output_dir, check_output_file

if TYPE_CHECKING:
    from paddlefcn.experiment import Experiment

EXIT_USER_ERROR = 2


class ToolParser(argparse.ArgumentParser):
    """An argument parser whose usage errors look like every other user error: one ``error:`` line, status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"error: {message} (see {self.prog} --help)\n")


def output_dir(value: str) -> str:
    """An argument type for a directory to write into; refuses a path that is, or lies under, a file."""
    return _as_argument_type(check_output_dir, value)


def output_file(value: str) -> str:
    """An argument type for a file to write; refuses an existing directory or a parent that is a file."""
    return _as_argument_type(check_output_file, value)


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argument type for an integer of at least ``minimum``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {number}")
        return number

    return parse


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--mode --crop-size --stride --flip/--no-flip --scales``; unset flags keep the config's ``eval`` values."""
    from paddlefcn.settings import INFERENCE_MODES

    group = parser.add_argument_group("inference (default: the config's eval section)")
    group.add_argument("--mode", choices=INFERENCE_MODES, help="whole image or sliding window")
    group.add_argument("--crop-size", nargs=2, type=int, metavar=("H", "W"), help="sliding-window size")
    group.add_argument("--stride", nargs=2, type=int, metavar=("H", "W"), help="sliding-window step")
    group.add_argument("--flip", action=argparse.BooleanOptionalAction, help="average with the mirrored image")
    group.add_argument("--scales", nargs="+", type=float, metavar="S", help="average over these resize factors")


def inference_flags(args: argparse.Namespace) -> dict:
    """The ``eval`` values set by the flags of ``add_inference_arguments`` (``None`` for those not given)."""
    return {key: getattr(args, key) for key in ("mode", "crop_size", "stride", "flip", "scales")}


def add_predictor_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of tools that run an exported model: ``--device``, ``--backend``, threads, oneDNN, TensorRT."""
    from paddlefcn.deploy.manifest import FORMATS

    parser.add_argument("--device", default="cpu", help="cpu | gpu (default cpu)")
    parser.add_argument("--gpu-id", type=int, default=0, help="GPU index (default 0)")
    parser.add_argument("--backend", default=None, help=f"{' | '.join(FORMATS)} (default: the exported format)")
    parser.add_argument("--cpu-threads", type=int, default=None, help="CPU threads (default: OMP_NUM_THREADS or all)")
    parser.add_argument("--no-onednn", action="store_true", help="CPU: Paddle's own kernels instead of oneDNN")
    parser.add_argument("--use-trt", action="store_true", help="use TensorRT (GPU)")
    parser.add_argument(
        "--precision",
        default=None,
        help="default: the export's (deploy.yaml: fp32, bf16 or int8, chosen by tools/export.py --precision); "
        "fp16 runs an fp32 export in half precision on a GPU",
    )


def predictor_options(args: argparse.Namespace) -> dict:
    """``Predictor`` keyword arguments from the options of ``add_predictor_arguments``."""
    return {
        "device": args.device,
        "backend": args.backend,
        "cpu_threads": args.cpu_threads,
        "onednn": not args.no_onednn,
        "gpu_id": args.gpu_id,
        "use_trt": args.use_trt,
        "precision": args.precision,
    }


def _as_argument_type(check: Callable[[str], object], value: str) -> str:
    try:
        check(value)
    except PaddleFCNError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return value


def base_parser(description: str, config_required: bool = True) -> argparse.ArgumentParser:
    """An argument parser with the options every tool takes."""
    parser = ToolParser(description=description)
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
    """Parses arguments and runs ``main``; a ``PaddleFCNError`` prints one line and returns 2.

    So does an ``OSError`` (a path that cannot be read or written, a full disk): its message names the path.
    """
    args = parser.parse_args(argv)
    try:
        return main(args) or 0
    except (PaddleFCNError, OSError) as err:
        if args.debug:
            raise
        print(f"error: {error_line(err, getattr(args, 'config', None))}", file=sys.stderr)
        return EXIT_USER_ERROR


def error_line(err: Exception, config: Optional[str] = None) -> str:
    """The one-line message of ``err``; a ``ConfigError`` is prefixed with ``config`` unless it names a file already."""
    if isinstance(err, ConfigError) and config:
        err = err.naming(config)
    return " ".join(str(err).split())


def load_experiment(args: argparse.Namespace) -> Experiment:
    """The ``Experiment`` of ``args.config`` with ``args.opts`` applied."""
    from paddlefcn.experiment import Experiment

    return Experiment.from_file(args.config, args.opts)
