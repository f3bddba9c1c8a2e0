"""Comparing an exported graph's output with the dygraph model's logits on the same input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paddlefcn.errors import PaddleFCNError

MIN_AGREEMENT = 0.999  # fraction of pixels whose class must match
SCORE_RTOL = 1e-3  # score tolerance, relative to the largest |logit| (at least 1); allows TF32 on GPUs


@dataclass
class Parity:
    """How closely an exported output matches the dygraph model.

    Attributes:
        agreement: Fraction of pixels with the same class. A pixel whose exported class is within the score
            tolerance of the dygraph maximum counts as agreeing (a near-tie may break either way).
        max_abs_diff: Largest absolute difference of the scores (0 for ``argmax`` outputs, which have none).
        tolerance: The score tolerance used.
    """

    agreement: float
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.agreement >= MIN_AGREEMENT and self.max_abs_diff <= self.tolerance


def reference_output(logits: np.ndarray, op: str) -> np.ndarray:
    """What a graph with output op ``op`` should return for dygraph ``logits`` ``[N, C, H, W]``."""
    if op == "argmax":
        return logits.argmax(axis=1).astype(np.int32)
    if op == "softmax":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return logits


def measure_parity(output: np.ndarray, logits: np.ndarray, op: str) -> Parity:
    """Compares a graph ``output`` with the dygraph ``logits`` it should reproduce under output op ``op``."""
    expected = reference_output(logits, op)
    if output.shape != expected.shape:
        return Parity(0.0, float("inf"), 0.0)
    scale = max(1.0, float(np.abs(logits).max(initial=0.0)))
    tolerance = SCORE_RTOL * scale  # softmax moves by at most about as much as the logits
    labels = output if op == "argmax" else output.argmax(axis=1)
    chosen = np.take_along_axis(logits, labels[:, None].astype(np.int64), axis=1)[:, 0]
    near_max = chosen >= logits.max(axis=1) - SCORE_RTOL * scale
    agreement = float(np.mean((labels == logits.argmax(axis=1)) | near_max))
    diff = 0.0 if op == "argmax" else float(np.abs(output - expected).max(initial=0.0))
    return Parity(agreement, diff, tolerance)


def require_parity(output: np.ndarray, logits: np.ndarray, op: str, what: str) -> Parity:
    """Like ``measure_parity``, but raises a one-line error naming ``what`` when the output does not match."""
    parity = measure_parity(output, logits, op)
    if not parity.ok:
        expected = reference_output(logits, op)
        raise PaddleFCNError(
            f"{what} does not match the dygraph model: output {list(output.shape)} vs {list(expected.shape)}, "
            f"class agreement {parity.agreement:.4%} (need {MIN_AGREEMENT:.1%}), "
            f"max score difference {parity.max_abs_diff:.3g} (allowed {parity.tolerance:.3g})"
        )
    return parity
