"""Serve an exported model over HTTP: python tools/serve.py --model-dir D [--host H] [--port P].

POST /predict an image (multipart or raw body) for its palette PNG mask (?format=overlay: a JPEG overlay,
?format=json: pixel counts per class); GET / is a demo page, GET /health, /model and /metrics describe the
server. Needs the serve extra: pip install -e ".[serve]".
"""

from __future__ import annotations

import argparse
import sys

from paddlefcn.cli import add_predictor_arguments, base_parser, int_at_least, predictor_options, run_tool
from paddlefcn.errors import PaddleFCNError
from paddlefcn.serve import ServeLimits

DEFAULTS = ServeLimits()
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LIMIT_HELP = {  # ServeLimits field -> help of its flag
    "max_batch": "most images per model run; 1 turns micro-batching off",
    "max_queue": "most images waiting for the model; more get 503",
    "max_pixels": "most pixels per image, read from its header; more get 413",
    "max_upload_mb": "largest request body in MiB; more gets 413",
}


def main(args: argparse.Namespace) -> int:
    try:
        from paddlefcn.serve import create_app
        from paddlefcn.serve.server import bind, serve, url_of
    except ImportError as err:
        missing = f"serving needs the serve extra ({err.name} is missing): pip install 'paddlefcn[serve]'"
        raise PaddleFCNError(missing) from None
    with bind(args.host, args.port) as sock:  # before the model loads, so a busy port fails at once
        app = create_app(
            args.model_dir,
            max_batch=args.max_batch,
            max_queue=args.max_queue,
            max_pixels=args.max_pixels,
            max_upload_mb=args.max_upload_mb,
            **predictor_options(args),
        )
        limits = f"max batch {args.max_batch}, max queue {args.max_queue}, max pixels {args.max_pixels}"
        model = f"{app.summary}, in process {app.state.model.pid}"
        print(f"serving {args.model_dir} at {url_of(sock)}/ ({model}; {limits})", flush=True)
        serve(app, sock, args.log_level)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("Serve a model written by tools/export.py over HTTP.", config_required=None)
    parser.add_argument("--model-dir", required=True, help="the export directory (holding deploy.yaml)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int_at_least(0), default=8000, help="port (default 8000; 0: a free one)")
    for field, what in LIMIT_HELP.items():
        default = getattr(DEFAULTS, field)
        flag = "--" + field.replace("_", "-")
        parser.add_argument(flag, type=int_at_least(1), default=default, help=f"{what} (default {default})")
    add_predictor_arguments(parser)
    parser.add_argument(
        "--log-level", default="info", choices=LOG_LEVELS, help="uvicorn's log level; info logs each request"
    )
    return parser


if __name__ == "__main__":
    sys.exit(run_tool(main, build_parser()))
