"""Inference engines that run an exported graph on a preprocessed batch: Paddle Inference and ONNX Runtime.

The GPU and TensorRT settings follow the Paddle Inference and ONNX Runtime documentation; this project's CI
has no GPU, so only the CPU paths are tested.
"""

from __future__ import annotations

import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Protocol

import numpy as np

from paddlefcn.checks import check_int
from paddlefcn.deploy.manifest import INPUT_NAME
from paddlefcn.deploy.precision import an, require_bf16_cpu, warn_without_vnni
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.env import available_cores, requested_threads

DEVICES = ("cpu", "gpu")
# fp16: an fp32 export run in half precision on a GPU; bf16 and int8: exports of that precision (on CPU).
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
ONEDNN_CACHE_SHAPES = 10  # oneDNN keeps kernels for this many input shapes; bounds memory with varied sizes
TRT_WORKSPACE = 1 << 30
# Paddle 3's executor frees each dead intermediate tensor on a garbage-collector thread. On a CPU that
# thread wakes dozens of times per inference and takes cores from oneDNN's threads: 15-20 % of the latency
# of a 64x64 image, 3-8 % at 224-512 px, for some 70 MB of memory kept. The executor is built, and its
# collector chosen, on the predictor's first run, which runs with collection off. (Paddle's own kernels,
# without oneDNN, run 5-7 % slower without the collector, so they keep it.)
CPU_FIRST_RUN_FLAGS = {"FLAGS_eager_delete_tensor_gb": -1.0}
_FLAGS_LOCK = threading.Lock()  # one paddle_flags block at a time: the flags are process-wide

Shape = list[int]


def onednn_cannot_run(model_file: Path) -> bool:
    """Whether Paddle Inference's oneDNN kernels fail on this graph, which then runs on Paddle's own CPU kernels.

    Paddle 3.x (measured with 3.3.1) cannot run a PIR program's ``bilinear_interp`` with oneDNN ("ConvertPir
    Attribute2RuntimeAttribute not support ArrayAttribute<DoubleAttribute>"); heads that resize their logits and the
    ``Interpolate`` upsampler export one.
    """
    return model_file.suffix == ".json" and '.bilinear_interp"' in model_file.read_text(encoding="utf-8")


@dataclass
class RuntimeOptions:
    """How to run an exported model.

    Attributes:
        device: ``cpu`` or ``gpu``.
        cpu_threads: Math-library threads on CPU; default ``OMP_NUM_THREADS`` or the available cores.
        onednn: Use oneDNN kernels on CPU (Paddle Inference).
        gpu_id: GPU index.
        use_trt: Run supported subgraphs with TensorRT (GPU only).
        precision: ``fp32``; ``fp16`` (an fp32 export in half precision, GPU only); ``bf16`` or ``int8``
            (exports of that precision, CPU only).
        trt_shapes: ``(min, opt, max)`` NCHW input shapes TensorRT builds for (dynamic shape ranges).
    """

    device: str = "cpu"
    cpu_threads: Optional[int] = None
    onednn: bool = True
    gpu_id: int = 0
    use_trt: bool = False
    precision: str = "fp32"
    trt_shapes: Optional[tuple[Shape, Shape, Shape]] = None

    def check(self) -> None:
        """Raises on a value that is unknown or needs a GPU on CPU."""
        if self.device not in DEVICES:
            raise PaddleFCNError(f"unknown device '{self.device}' (known: {', '.join(DEVICES)})")
        if self.precision not in PRECISIONS:
            raise PaddleFCNError(f"unknown precision '{self.precision}' (known: {', '.join(PRECISIONS)})")
        if self.device == "cpu" and (self.use_trt or self.precision == "fp16"):
            raise PaddleFCNError("TensorRT and fp16 need --device gpu")
        if self.device == "gpu" and self.precision in ("bf16", "int8"):
            raise PaddleFCNError(
                f"{an(self.precision)} export runs on the CPU only; for a GPU export fp32 "
                "(and run it with --precision fp16, with or without --use-trt)"
            )
        if self.cpu_threads is not None:
            check_int(self.cpu_threads, "cpu_threads", error=PaddleFCNError)
        if self.use_trt and self.trt_shapes is None:
            raise PaddleFCNError("TensorRT needs trt_shapes (min, opt, max input shapes)")

    def threads(self) -> int:
        """The CPU thread count to use."""
        if self.cpu_threads:
            return self.cpu_threads
        return requested_threads() or available_cores()


class Engine(Protocol):
    """Runs the graph on an NCHW float32 batch and returns its single output."""

    def run(self, batch: np.ndarray) -> np.ndarray: ...

    def describe(self) -> str: ...


class PaddleEngine:
    """A Paddle Inference predictor.

    Args:
        model_file: ``model.json`` (PIR, Paddle 3.x) or ``model.pdmodel`` (Paddle 2.x).
        params_file: ``model.pdiparams``.
        options: Device and precision settings.
    """

    def __init__(self, model_file: Path, params_file: Path, options: RuntimeOptions) -> None:
        import paddle
        from paddle import inference

        options.check()
        if model_file.suffix == ".json" and int(paddle.__version__.split(".")[0]) == 2:
            # Paddle 2.x would crash reading it as a protobuf program.
            raise PaddleFCNError(
                f"{model_file} is a Paddle 3 (PIR) program, which Paddle {paddle.__version__} cannot load; "
                "export with this Paddle, or use the onnx backend"
            )
        self.options = options
        self._trt_dir: Optional[tempfile.TemporaryDirectory] = None
        if options.use_trt and model_file.suffix == ".json":
            model_file, params_file = self._convert_pir_trt(model_file, options)
        config = inference.Config(str(model_file), str(params_file))
        if options.device == "gpu":
            self._configure_gpu(config, model_file, options)
        else:
            config.disable_gpu()
            if options.precision == "bf16":
                self._check_bf16(model_file, options)
            if options.onednn and not onednn_cannot_run(model_file):
                config.enable_mkldnn()
                config.set_mkldnn_cache_capacity(ONEDNN_CACHE_SHAPES)
                if options.precision == "bf16":
                    config.enable_mkldnn_bfloat16()
            else:
                config.disable_mkldnn()  # on by default for CPU in Paddle 2.6 and 3.x
            config.set_cpu_math_library_num_threads(options.threads())
        config.disable_glog_info()
        self.onednn = options.device == "cpu" and config.mkldnn_enabled()
        try:
            self.predictor = inference.create_predictor(config)
        except Exception as err:  # Paddle raises several types for an unreadable model
            reason = f"{type(err).__name__}: {err}"
            raise PaddleFCNError(f"{model_file}: Paddle Inference cannot load it ({reason})") from err
        self.input_name = self.predictor.get_input_names()[0]
        self.output_name = self.predictor.get_output_names()[0]
        self._first_run_flags = CPU_FIRST_RUN_FLAGS if self.onednn else {}

    @staticmethod
    def _check_bf16(model_file: Path, options: RuntimeOptions) -> None:
        """Raises one line where oneDNN's bfloat16 kernels cannot run: no AVX-512 BF16, oneDNN off or unusable."""
        require_bf16_cpu()
        if not options.onednn:
            raise PaddleFCNError("a bf16 export runs with oneDNN's bfloat16 kernels: drop --no-onednn")
        if onednn_cannot_run(model_file):
            raise PaddleFCNError(
                f"{model_file}: a bf16 export needs oneDNN, which Paddle 3.x cannot run on this graph's bilinear_interp"
            )

    @staticmethod
    def _configure_gpu(config, model_file: Path, options: RuntimeOptions) -> None:
        import paddle
        from paddle.inference import PrecisionType

        if not paddle.is_compiled_with_cuda():
            raise PaddleFCNError("--device gpu needs a GPU build of Paddle (paddlepaddle-gpu)")
        half = options.precision == "fp16"
        # Without TensorRT, fp16 is Paddle Inference's mixed precision on the GPU.
        compute = PrecisionType.Half if half and not options.use_trt else PrecisionType.Float32
        config.enable_use_gpu(256, options.gpu_id, compute)
        if options.use_trt and model_file.suffix != ".json":
            # Paddle 2.x programs: TensorRT subgraphs with explicit dynamic shape ranges.
            low, opt, high = options.trt_shapes
            config.enable_tensorrt_engine(
                workspace_size=TRT_WORKSPACE,
                max_batch_size=high[0],
                min_subgraph_size=3,
                precision_mode=PrecisionType.Half if half else PrecisionType.Float32,
                use_static=False,
                use_calib_mode=False,
            )
            config.set_trt_dynamic_shape_info({INPUT_NAME: low}, {INPUT_NAME: high}, {INPUT_NAME: opt})

    def _convert_pir_trt(self, model_file: Path, options: RuntimeOptions) -> tuple[Path, Path]:
        """Paddle 3.x (PIR) runs TensorRT through ``paddle.tensorrt.convert``, which writes a new program."""
        try:
            from paddle.tensorrt.export import Input, PrecisionMode, TensorRTConfig, convert
        except ImportError as err:
            raise PaddleFCNError("--use-trt needs a Paddle GPU build with TensorRT support") from err
        low, opt, high = options.trt_shapes
        trt_config = TensorRTConfig(inputs=[Input(min_input_shape=low, optim_input_shape=opt, max_input_shape=high)])
        trt_config.precision_mode = PrecisionMode.FP16 if options.precision == "fp16" else PrecisionMode.FP32
        self._trt_dir = tempfile.TemporaryDirectory(prefix="paddlefcn-trt-")
        prefix = Path(self._trt_dir.name) / "model"
        trt_config.save_model_dir = str(prefix)
        convert(str(model_file.with_suffix("")), trt_config)
        return prefix.with_suffix(".json"), prefix.with_suffix(".pdiparams")

    def run(self, batch: np.ndarray) -> np.ndarray:
        handle = self.predictor.get_input_handle(self.input_name)
        handle.reshape(list(batch.shape))
        handle.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
        with paddle_flags(self._first_run_flags):
            try:
                self.predictor.run()
            except Exception as err:  # oneDNN reports a failed primitive as a bare std::exception
                if self.options.precision != "bf16":
                    raise
                raise PaddleFCNError(
                    f"Paddle Inference {_paddle_version()} cannot run this model with oneDNN's bfloat16 kernels "
                    f"({type(err).__name__}: {' '.join(str(err).split())[:200]}); export fp32 or int8"
                ) from err
        self._first_run_flags = {}
        return self.predictor.get_output_handle(self.output_name).copy_to_cpu()

    def describe(self) -> str:
        import paddle

        return f"Paddle Inference {paddle.__version__}, {_settings(self.options, onednn=self.onednn)}"


class OnnxEngine:
    """An ONNX Runtime session.

    Args:
        model_file: ``model.onnx``.
        options: Device and precision settings (oneDNN is not used).
    """

    def __init__(self, model_file: Path, options: RuntimeOptions) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise PaddleFCNError("the onnx format needs onnxruntime: pip install 'paddlefcn[onnx]'") from err
        options.check()
        self.options = options
        if options.precision == "int8":
            warn_without_vnni()
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = options.threads()
        session_options.inter_op_num_threads = 1
        session_options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(model_file), sess_options=session_options, providers=self._providers(ort, options)
            )
        except Exception as err:  # onnxruntime raises its own exception types for unreadable models
            raise PaddleFCNError(f"{model_file}: ONNX Runtime cannot load it ({type(err).__name__}: {err})") from err
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def _providers(ort, options: RuntimeOptions) -> list:
        if options.device == "cpu":
            return ["CPUExecutionProvider"]
        available = ort.get_available_providers()
        if "CUDAExecutionProvider" not in available:
            raise PaddleFCNError("--device gpu with the onnx format needs onnxruntime-gpu (CUDAExecutionProvider)")
        cuda = ("CUDAExecutionProvider", {"device_id": options.gpu_id})
        if not options.use_trt:
            if options.precision == "fp16":
                raise PaddleFCNError("fp16 with the onnx format needs --use-trt (the ONNX model is fp32)")
            return [cuda, "CPUExecutionProvider"]
        if "TensorrtExecutionProvider" not in available:
            raise PaddleFCNError("--use-trt with the onnx format needs onnxruntime-gpu built with TensorRT")
        low, opt, high = (f"{INPUT_NAME}:{'x'.join(str(d) for d in shape)}" for shape in options.trt_shapes)
        trt = {
            "device_id": options.gpu_id,
            "trt_fp16_enable": options.precision == "fp16",
            "trt_profile_min_shapes": low,
            "trt_profile_opt_shapes": opt,
            "trt_profile_max_shapes": high,
        }
        return [("TensorrtExecutionProvider", trt), cuda, "CPUExecutionProvider"]

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    def describe(self) -> str:
        import onnxruntime as ort

        return f"ONNX Runtime {ort.__version__}, {_settings(self.options, onednn=False)}"


@contextmanager
def paddle_flags(flags: dict[str, object]) -> Iterator[None]:
    """Sets Paddle ``flags`` (process-wide) for the duration of the block, then restores them.

    Blocks in different threads run one after another, so each sees its own flags and the values saved
    before the first are the ones restored after the last.
    """
    if not flags:
        yield
        return
    import paddle

    with _FLAGS_LOCK:
        saved = paddle.get_flags(list(flags))
        paddle.set_flags(flags)
        try:
            yield
        finally:
            paddle.set_flags(saved)


def _paddle_version() -> str:
    import paddle

    return paddle.__version__


def _settings(options: RuntimeOptions, onednn: bool) -> str:
    if options.device == "cpu":
        kernels = ", oneDNN" if onednn else ""
        return f"cpu{kernels}, {options.threads()} threads, {options.precision}"
    trt = ", TensorRT" if options.use_trt else ""
    return f"gpu:{options.gpu_id}{trt}, {options.precision}"


def create_engine(files: dict[str, Path], fmt: str, options: RuntimeOptions) -> Engine:
    """The engine for ``fmt`` (``paddle`` or ``onnx``) over its exported ``files`` (by role)."""
    if fmt == "onnx":
        return OnnxEngine(files["model"], options)
    return PaddleEngine(files["model"], files["params"], options)
