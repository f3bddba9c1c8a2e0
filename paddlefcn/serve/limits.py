"""``ServeLimits``: how much work and data the server accepts at once."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from paddlefcn.checks import check_int
from paddlefcn.errors import PaddleFCNError

MIB = 1 << 20


@dataclass(frozen=True)
class ServeLimits:
    """The server's bounds; each is checked when the app is created.

    Attributes:
        max_batch: Most images run in one model call (1 turns micro-batching off).
        max_queue: Most requests waiting for the model; one more is answered 503.
        max_pixels: Most pixels (width x height) of an image, checked on its header before decoding.
        max_upload_mb: Largest request body, in MiB.
    """

    max_batch: int = 4
    max_queue: int = 16
    max_pixels: int = 4096 * 4096
    max_upload_mb: int = 32

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            check_int(value, name, error=PaddleFCNError)

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return self.max_upload_mb * MIB
