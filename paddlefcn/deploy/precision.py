"""Export precisions: which backend runs which, and what the CPU needs for them to pay.

An export has one precision, chosen by ``tools/export.py --precision`` and recorded in ``deploy.yaml``:

- ``fp32``: Paddle Inference (oneDNN) or ONNX Runtime.
- ``bf16``: the fp32 Paddle program run by Paddle Inference with oneDNN's bfloat16 kernels
  (``Config.enable_mkldnn_bfloat16``); needs a CPU with AVX-512 BF16, on others oneDNN emulates bfloat16 and is
  slower than fp32.
- ``int8``: an ONNX model quantized by ONNX Runtime (QDQ), run by ONNX Runtime's CPU provider. Paddle Inference
  3.3 has no int8 path for a PIR program on CPU (docs/deploy.md says what was tried).
"""

from __future__ import annotations

import logging
from typing import Optional

from paddlefcn.errors import PaddleFCNError

PRECISIONS = ("fp32", "bf16", "int8")  # what an export can be
# The one backend (deploy format) that runs each reduced precision.
BACKEND_OF = {"bf16": "paddle", "int8": "onnx"}
BACKEND_NAMES = {"paddle": "Paddle Inference", "onnx": "ONNX Runtime"}
logger = logging.getLogger("paddlefcn.deploy")
_warned: set[str] = set()


def an(precision: str) -> str:
    """``precision`` with its indefinite article: ``an int8``, ``a bf16``, ``an fp32``."""
    return f"{'an' if precision[:1] in 'aefhilmnorsx' else 'a'} {precision}"


def check_precision(precision: str) -> str:
    """Returns ``precision`` if it is an export precision, else raises naming them."""
    if precision not in PRECISIONS:
        raise PaddleFCNError(f"unknown precision '{precision}' (known: {', '.join(PRECISIONS)})")
    return precision


def default_format(precision: str) -> str:
    """The format an export of ``precision`` is written in when none is asked for."""
    return BACKEND_OF.get(precision, "paddle")


def check_backend(precision: str, backend: str, where: str = "") -> None:
    """Raises one line if ``backend`` (``paddle`` or ``onnx``) cannot run an export of ``precision``.

    Args:
        precision: The export's precision.
        backend: The format asked for (``--format`` at export, ``--backend`` at inference).
        where: What to name first in the message (the ``deploy.yaml`` path), if anything.
    """
    needed = BACKEND_OF.get(precision)
    if needed is None or backend == needed:
        return
    prefix = f"{where}: " if where else ""
    why = {
        "int8": "Paddle Inference 3.3 has no int8 path for a PIR program on CPU",
        "bf16": "ONNX Runtime has no bfloat16 convolutions on CPU",
    }[precision]
    raise PaddleFCNError(
        f"{prefix}{an(precision)} export runs on {BACKEND_NAMES[needed]} only (format/backend {needed}), "
        f"not {BACKEND_NAMES.get(backend, backend)}: {why}"
    )


def cpu_features() -> dict[str, bool]:
    """Whether this CPU has the instructions reduced precision needs, as oneDNN (Paddle's build) detects them.

    ``avx512_bf16``: bfloat16 dot products (oneDNN's fast bf16 kernels); ``vnni``: int8 dot products (AVX-512 VNNI,
    which ONNX Runtime's and oneDNN's int8 kernels use).
    """
    from paddle.base import core

    return {"avx512_bf16": bool(core.supports_bfloat16_fast_performance()), "vnni": bool(core.supports_vnni())}


def require_bf16_cpu() -> None:
    """Raises one line unless this CPU has AVX-512 BF16."""
    if not cpu_features()["avx512_bf16"]:
        raise PaddleFCNError(
            "bf16 needs a CPU with AVX-512 BF16 (avx512_bf16), which this one lacks: oneDNN would emulate bfloat16, "
            "slower than fp32; export fp32, or int8 (--precision int8)"
        )


def warn_without_vnni() -> None:
    """Logs one warning (once per process) if this CPU has no VNNI: int8 may then be no faster than fp32."""
    if cpu_features()["vnni"] or "vnni" in _warned:
        return
    _warned.add("vnni")
    logger.warning(
        "this CPU has no AVX-512 VNNI (int8 dot products): an int8 model may be no faster than fp32 here; "
        "measure with tools/benchmark.py"
    )


def miou_drop_limit(value: object) -> Optional[float]:
    """``export.max_miou_drop`` as points of mIoU (``None``: no limit); ``none``/``null`` lift the limit."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
        return None
    try:
        limit = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        limit = float("nan")
    if not limit >= 0 or limit == float("inf"):
        raise PaddleFCNError(f"--max-miou-drop must be points of mIoU >= 0, or none, got {value!r}")
    return limit
