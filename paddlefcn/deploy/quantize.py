"""int8 post-training static quantization of an exported ONNX model with ONNX Runtime's quantizer.

The fp32 ``model.onnx`` is first pre-processed (``quant_pre_process``: ONNX Runtime's graph optimisations fold
each batch norm into its convolution, so one scale covers both), then quantized in the QDQ format:

- weights: signed int8, one scale per output channel (symmetric);
- activations: unsigned int8 with a zero point (asymmetric), ranges calibrated on images of the dataset,
  preprocessed with the export's own transforms;
- quantized ops: ``Conv`` only. The transposed-convolution upsamplers, the additions of the skips and the
  output op stay float: on the CamVid CPU recipe the issue's probe measured QDQ with u8 activations 0.37-0.40x
  of fp32 latency (s8 activations: no faster than fp32; QOperator: 0.48-0.50x) at 0.2 points of mIoU.

ONNX Runtime's CPU provider fuses each ``DequantizeLinear -> Conv -> QuantizeLinear`` into an int8 ``QLinearConv``.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from paddlefcn.deploy.manifest import INPUT_NAME
from paddlefcn.errors import PaddleFCNError

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")
OP_TYPES = ("Conv", "Relu", "MaxPool")
logger = logging.getLogger("paddlefcn.deploy")


@dataclass(frozen=True)
class QuantizationScheme:
    """How the model is quantized (recorded in ``deploy.yaml`` as ``quantization``).

    Attributes:
        method: Calibration of the activation ranges: ``minmax``, ``percentile`` (99.999th) or ``entropy``.
        op_types: ONNX op types quantized; the others stay float.
        activations: ``uint8`` (asymmetric, zero point) or ``int8`` (symmetric).
        weights: ``int8`` per output channel (symmetric).
    """

    method: str = "minmax"
    op_types: tuple[str, ...] = OP_TYPES
    activations: str = "uint8"
    weights: str = "int8"

    def check(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise PaddleFCNError(
                f"unknown calibration method '{self.method}' (known: {', '.join(CALIBRATION_METHODS)})"
            )
        if self.activations not in ("uint8", "int8") or self.weights != "int8":
            raise PaddleFCNError("int8 quantization takes uint8 or int8 activations and int8 weights")

    def describe(self) -> dict:
        """What ``deploy.yaml`` records: the tool, the format and the types."""
        import onnxruntime

        return {
            "tool": f"onnxruntime {onnxruntime.__version__} quantize_static",
            "format": "QDQ",
            "weights": f"{self.weights} per channel",
            "activations": self.activations,
            "op_types": list(self.op_types),
        }

    def as_dict(self) -> dict:
        return asdict(self)


def require_quantization() -> str:
    """Returns the onnxruntime version; raises one line if its quantization tools cannot be imported."""
    try:
        import onnxruntime
        import onnxruntime.quantization  # noqa: F401  (needs ml_dtypes, which onnxruntime does not install)
    except ImportError as err:
        raise PaddleFCNError(
            f"--precision int8 needs onnxruntime's quantization tools ({err.name} is missing): "
            "pip install 'paddlefcn[onnx]'"
        ) from err
    return onnxruntime.__version__


def spread(count: int, total: int) -> list[int]:
    """``min(count, total)`` indices spread evenly over ``range(total)``, first and last included."""
    if total < 1 or count < 1:
        return []
    if count >= total:
        return list(range(total))
    return sorted({int(round(i)) for i in np.linspace(0, total - 1, count)})


class CalibrationImages:
    """ONNX Runtime's ``CalibrationDataReader`` protocol over preprocessed images, one ``[1, 3, H, W]`` batch each.

    Args:
        images: Yields the network inputs ``[3, H, W]`` float32 (each image's own size).
        count: How many it yields (for the log).
    """

    def __init__(self, images: Callable[[], Iterator[np.ndarray]], count: int) -> None:
        self._make = images
        self._iter: Optional[Iterator[np.ndarray]] = None
        self.count = count

    def get_next(self) -> Optional[dict[str, np.ndarray]]:
        if self._iter is None:
            self._iter = self._make()
        chw = next(self._iter, None)
        return None if chw is None else {INPUT_NAME: np.ascontiguousarray(chw[None], dtype=np.float32)}

    def rewind(self) -> None:
        self._iter = None

    def __iter__(self):  # onnxruntime >= 1.17 also iterates readers
        self.rewind()
        while (item := self.get_next()) is not None:
            yield item


def quantize_int8(
    fp32_model: Path, save_file: Path, calibration: CalibrationImages, scheme: QuantizationScheme
) -> Path:
    """Writes the int8 QDQ model of ``fp32_model`` to ``save_file``, calibrated on ``calibration``; returns it.

    Raises:
        PaddleFCNError: ONNX Runtime's quantizer failed; the message names it and the reason.
    """
    import onnxruntime
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    scheme.check()
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    types = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
    onnxruntime.set_default_logger_severity(3)  # the optimiser lists every initialiser it drops, as warnings
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=save_file.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:
            # Symbolic shape inference gives up on the graph's computed padding shapes; ONNX's own suffices.
            quant_pre_process(str(fp32_model), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(save_file),
                calibration,
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(scheme.op_types),
                per_channel=True,
                activation_type=types[scheme.activations],
                weight_type=types[scheme.weights],
                calibrate_method=methods[scheme.method],
                extra_options={"ActivationSymmetric": scheme.activations == "int8", "WeightSymmetric": True},
            )
        except PaddleFCNError:
            raise
        except Exception as err:  # the quantizer raises assorted types
            raise PaddleFCNError(
                f"onnxruntime {onnxruntime.__version__} cannot quantize {fp32_model.name}: {type(err).__name__}: {err}"
            ) from err
    if not save_file.is_file():
        raise PaddleFCNError(f"onnxruntime wrote no int8 model for {fp32_model.name}")
    return save_file


def calibration_images(dataset: object, indices: Sequence[int], preprocess: Callable) -> CalibrationImages:
    """A reader of ``dataset`` images ``indices`` (``dataset.load(i)``: raw RGB), each passed through ``preprocess``."""

    def images() -> Iterator[np.ndarray]:
        for index in indices:
            image, _ = dataset.load(index)
            yield preprocess(image)

    return CalibrationImages(images, len(indices))
