"""Value checks shared by every part of paddlefcn: each returns the value or raises naming the key at fault.

Config values raise ``ConfigError`` (tools put the config file first in the message); values from elsewhere
(arguments, files) pass ``error=PaddleFCNError`` or a message that names their source.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from paddlefcn.errors import ConfigError, PaddleFCNError


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (``True``/``False`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(
    value: Any,
    key: str,
    minimum: int = 1,
    maximum: Optional[int] = None,
    error: type[PaddleFCNError] = ConfigError,
) -> int:
    """``value`` if it is an integer in ``[minimum, maximum]``; otherwise raises ``error`` naming ``key``."""
    if not is_int(value) or value < minimum or (maximum is not None and value > maximum):
        bounds = f"in {minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise error(f"{key} must be an integer {bounds}, got {value!r}")
    return value


def check_number(value: Any, key: str, positive: bool = False, error: type[PaddleFCNError] = ConfigError) -> float:
    """``value`` as a float if it is a finite number (above 0 if ``positive``); otherwise raises naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        valid = False
    else:
        valid = not positive or value > 0
    if not valid:
        raise error(f"{key} must be a {'positive ' if positive else ''}number, got {value!r}")
    return float(value)


def check_bool(value: Any, key: str) -> bool:
    """``value`` if it is ``true`` or ``false``; otherwise raises naming ``key``."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value


def check_pair(value: Any, key: str, error: type[PaddleFCNError] = ConfigError) -> tuple[int, int]:
    """``(height, width)`` from a positive integer or two of them; otherwise raises naming ``key``."""
    values = [value, value] if is_int(value) else list(value) if isinstance(value, (list, tuple)) else []
    if len(values) != 2 or not all(is_int(v) and v > 0 for v in values):
        raise error(f"{key} must be a positive integer or [height, width], got {value!r}")
    return values[0], values[1]


def require(cfg: dict, dotted: str) -> Any:
    """Returns ``cfg[a][b]...`` for ``"a.b..."``, or raises naming the key when it is missing or null."""
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"missing required key '{dotted}'")
        node = node[part]
    if node is None:
        raise ConfigError(f"required key '{dotted}' is null")
    return node
