"""``Predictor``: an exported model (Paddle Inference or ONNX Runtime) with its own preprocessing; ``predict_files``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from paddlefcn.checks import check_int
from paddlefcn.config import import_plugins
from paddlefcn.data import build_transforms
from paddlefcn.data.io import read_image
from paddlefcn.data.transforms import resize_label
from paddlefcn.deploy.engines import PRECISIONS, RuntimeOptions, Shape, create_engine
from paddlefcn.deploy.manifest import DEPLOY_FILE, DeployConfig, check_format, read_deploy_config
from paddlefcn.deploy.precision import an, check_backend
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.visualize import save_prediction

# Default TensorRT (min, opt, max) height and width for a dynamic input.
TRT_SIZES = (32, 512, 2048)


class Predictor:
    """Segments images with a directory written by ``tools/export.py``.

    Images of any size are preprocessed with the exported transforms, run in batches of equal size, and
    the labels are returned at each image's own size.

    Args:
        model_dir: The export directory (holding ``deploy.yaml``).
        device: ``cpu`` or ``gpu``.
        backend: ``paddle`` (Paddle Inference) or ``onnx`` (ONNX Runtime); default: the exported format.
        cpu_threads: CPU threads; default ``OMP_NUM_THREADS`` or the available cores.
        onednn: Use oneDNN on CPU (Paddle Inference).
        gpu_id: GPU index.
        use_trt: Use TensorRT on the GPU.
        precision: Default: the export's (``deploy.yaml``: ``fp32``, ``bf16`` or ``int8``), which is the only one
            it runs in, except that an fp32 export also runs in ``fp16`` on a GPU. bf16 and int8 are chosen at
            export (``tools/export.py --precision``), where their accuracy cost is measured.
        batch_size: Largest batch run at once (also TensorRT's largest batch).
        trt_shapes: TensorRT's ``(min, opt, max)`` NCHW input shapes; by default sizes 32 to 2048 (opt 512),
            or the exported fixed/resized size.
        deploy: The export's configuration when it is not to be read from ``model_dir/deploy.yaml`` (the export's
            own checks, before that file is written).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        device: str = "cpu",
        backend: Optional[str] = None,
        cpu_threads: Optional[int] = None,
        onednn: bool = True,
        gpu_id: int = 0,
        use_trt: bool = False,
        precision: Optional[str] = None,
        batch_size: int = 1,
        trt_shapes: Optional[tuple[Shape, Shape, Shape]] = None,
        deploy: Optional[DeployConfig] = None,
    ) -> None:
        self.model_dir = Path(os.path.expanduser(str(model_dir)))
        self.deploy = deploy if deploy is not None else read_deploy_config(self.model_dir)
        self.backend = check_format(backend or self.deploy.format)
        check_backend(self.deploy.precision, self.backend, str(self.model_dir / DEPLOY_FILE))
        self.precision = self._runtime_precision(precision)  # what the model runs in
        check_int(batch_size, "batch size", error=PaddleFCNError)
        fixed_batch = self.deploy.input_shape[0]
        self.batch_size = fixed_batch if fixed_batch > 0 else batch_size
        import_plugins(self.deploy.imports, str(self.model_dir / DEPLOY_FILE))  # the user's own transforms
        try:
            self.transforms = build_transforms(self.deploy.transforms)
        except PaddleFCNError as err:
            raise PaddleFCNError(f"{self.model_dir / DEPLOY_FILE}: {err}") from err
        if use_trt and trt_shapes is None:
            trt_shapes = self._default_trt_shapes()
        options = RuntimeOptions(device, cpu_threads, onednn, gpu_id, use_trt, self.precision, trt_shapes)
        self.engine = create_engine(self.deploy.model_files(self.model_dir, self.backend), self.backend, options)

    def _runtime_precision(self, asked: Optional[str]) -> str:
        """The precision to run in: the export's, or fp16 for an fp32 export; raises one line for anything else."""
        exported = self.deploy.precision
        if asked is not None and asked not in PRECISIONS:
            raise PaddleFCNError(f"unknown precision '{asked}' (known: {', '.join(PRECISIONS)})")
        if asked is None or asked == exported or (asked == "fp16" and exported == "fp32"):
            return asked or exported
        where = self.model_dir / DEPLOY_FILE
        if exported != "fp32":
            raise PaddleFCNError(f"{where}: this is {an(exported)} export, which runs in {exported} only, not {asked}")
        raise PaddleFCNError(
            f"{where}: this is an fp32 export; {asked} is chosen at export (tools/export.py --precision {asked}), "
            "where its accuracy cost is measured"
        )

    @property
    def palette(self) -> list[list[int]]:
        """One ``[r, g, b]`` per class."""
        return self.deploy.palette

    @property
    def class_names(self) -> list[str]:
        """One name per class."""
        return self.deploy.class_names

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """The network input ``[3, H, W]`` float32 for an HWC RGB uint8 ``image``."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise PaddleFCNError(f"expected an HWC RGB image, got shape {list(image.shape)}")
        chw, _ = self.transforms(image, None)
        for axis, (want, have) in enumerate(zip(self.deploy.input_shape[2:], chw.shape[1:])):
            if want > 0 and want != have:
                size = "x".join(str(d) for d in self.deploy.input_shape[2:])
                raise PaddleFCNError(
                    f"the model was exported for {size} inputs but preprocessing gives {chw.shape[1]}x{chw.shape[2]} "
                    f"({'height' if axis == 0 else 'width'} differs); export with export.resize set to that size"
                )
        return chw

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The graph output for a preprocessed ``[N, 3, H, W]`` batch (labels or scores, per ``output_op``)."""
        return self.engine.run(batch)

    def predict(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Class labels ``[H, W]`` int32 for each HWC RGB uint8 image, at the image's size."""
        inputs = [self.preprocess(image) for image in images]
        labels: list[Optional[np.ndarray]] = [None] * len(images)
        for indices in self._batches([x.shape for x in inputs]):
            batch = np.stack([inputs[i] for i in indices])
            if self.deploy.input_shape[0] > 0 and len(indices) < self.batch_size:
                filler = np.repeat(batch[-1:], self.batch_size - len(indices), axis=0)
                batch = np.concatenate([batch, filler])
            output = self.run(batch)
            self._check_output(output, len(batch))
            for row, index in enumerate(indices):
                labels[index] = self._to_labels(output[row], images[index].shape[:2])
        return labels

    def _batches(self, shapes: list[tuple[int, ...]]) -> list[list[int]]:
        """Indices grouped by input shape, in chunks of at most ``batch_size``."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, shape in enumerate(shapes):
            groups.setdefault(shape, []).append(index)
        return [
            members[start : start + self.batch_size]
            for members in groups.values()
            for start in range(0, len(members), self.batch_size)
        ]

    def _check_output(self, output: np.ndarray, batch: int) -> None:
        """Raises when the graph's output does not have the shape ``deploy.yaml``'s ``output_op`` promises."""
        classes = self.deploy.num_classes
        if self.deploy.output_op == "argmax":
            expected, fits = f"[{batch}, H, W] labels", output.ndim == 3
        else:
            expected, fits = f"[{batch}, {classes}, H, W] scores", output.ndim == 4 and output.shape[1] == classes
        if not fits or output.shape[0] != batch:
            raise PaddleFCNError(
                f"{self.model_dir / DEPLOY_FILE}: output_op '{self.deploy.output_op}' means {expected}, but the model "
                f"returns shape {list(output.shape)}; does deploy.yaml belong to these model files?"
            )

    def _to_labels(self, output: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Labels at ``size`` from one image's output: ``[h, w]`` labels or ``[C, h, w]`` scores."""
        height, width = size
        if self.deploy.output_op == "argmax":
            labels = output.astype(np.int32)
            return labels if labels.shape == (height, width) else resize_label(labels, height, width)
        scores = output
        if scores.shape[1:] != (height, width):
            hwc = np.ascontiguousarray(scores.transpose(1, 2, 0), dtype=np.float32)
            resized = cv2.resize(hwc, (width, height), interpolation=cv2.INTER_LINEAR)
            scores = resized.reshape(height, width, -1).transpose(2, 0, 1)
        return scores.argmax(axis=0).astype(np.int32)

    def _default_trt_shapes(self) -> tuple[Shape, Shape, Shape]:
        batch, _, height, width = self.deploy.input_shape
        resize = next((t.get("size") for t in self.deploy.transforms if t.get("type") == "Resize"), None)
        if resize is not None:
            height, width = (resize, resize) if isinstance(resize, int) else resize
        low, opt, high = (
            [batch if batch > 0 else (1 if i == 0 else self.batch_size), 3]
            + [height if height > 0 else size, width if width > 0 else size]
            for i, size in enumerate(TRT_SIZES)
        )
        return low, opt, high

    def describe(self) -> str:
        """The backend and its settings, for logs and benchmarks."""
        return self.engine.describe()


def predict_files(predictor: Predictor, images: list[Path], save_dir: str | os.PathLike) -> list[Path]:
    """Segments image files in batches of ``predictor.batch_size`` and writes palette masks and overlays.

    For each image ``<stem>.<ext>`` it writes ``<stem>.png`` (a palette PNG whose pixel values are the classes)
    and ``<stem>_overlay.jpg`` into ``save_dir``, as ``tools/predict.py`` does.

    Returns:
        The mask files written, in input order.
    """
    written = []
    for start in range(0, len(images), predictor.batch_size):
        paths = images[start : start + predictor.batch_size]
        pixels = [read_image(p) for p in paths]
        for path, rgb, labels in zip(paths, pixels, predictor.predict(pixels)):
            written.append(save_prediction(save_dir, path.stem, rgb, labels, predictor.palette))
    return written
