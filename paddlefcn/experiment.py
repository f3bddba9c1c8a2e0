"""One way in: an ``Experiment`` is a config file plus overrides, and everything the tools do with it.

    from paddlefcn import Experiment

    exp = Experiment.from_file("configs/quickstart.yml", ["train.iters=100"])
    trainer = exp.train("output/quickstart")
    metrics = exp.evaluate("output/quickstart/best")
    exp.predict("output/quickstart/best", "images/", "predictions/")
    exp.export("output/quickstart/best", "exported", fmt="onnx")

Every tool in ``tools/`` is a thin call of one of these methods.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence

from paddlefcn.benchmark import BenchmarkOptions, run_benchmark
from paddlefcn.checks import require
from paddlefcn.config import load_config
from paddlefcn.data import build_transforms, list_images, read_image
from paddlefcn.data.meta import DatasetMeta
from paddlefcn.deploy import DeployConfig, export_model
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.evaluator import evaluate
from paddlefcn.engine.inference import predict_mask
from paddlefcn.engine.trainer import Hook, Trainer
from paddlefcn.engine.training import train
from paddlefcn.errors import PaddleFCNError
from paddlefcn.runtime import setup_runtime
from paddlefcn.settings import EvalSettings
from paddlefcn.utils.visualize import save_prediction


class Experiment:
    """A loaded config and the runs made from it: train, evaluate, predict, export and benchmark.

    Args:
        cfg: A loaded config (``load_config``).
        source: The config file (its name is the default run directory's).
    """

    def __init__(self, cfg: dict, source: Optional[str | os.PathLike] = None) -> None:
        self.cfg = cfg
        self.source = None if source is None else str(source)
        self.build = Builder(cfg)

    @classmethod
    def from_file(cls, path: str | os.PathLike, overrides: Sequence[str] = ()) -> Experiment:
        """The experiment of a config file with ``-o``-style overrides (``"train.iters=100"``)."""
        return cls(load_config(path, overrides), path)

    @property
    def meta(self) -> DatasetMeta:
        """The classes, colours and ignore value of the val set (what evaluation and predictions show)."""
        return self.build.meta("val")

    def default_save_dir(self) -> Path:
        """``output/<config name>``, where a run goes unless told otherwise."""
        return Path("output") / Path(self.source or "run").stem

    def train(
        self,
        save_dir: Optional[str | os.PathLike] = None,
        resume: Optional[str] = None,
        iters: Optional[int] = None,
        time_budget: Optional[str] = None,
        amp: Optional[bool] = None,
        seed: Optional[int] = None,
        extra_hooks: Sequence[Hook] = (),
    ) -> Trainer:
        """Trains into ``save_dir`` (default ``default_save_dir()``); see ``paddlefcn.engine.training.train``."""
        save_dir = self.default_save_dir() if save_dir is None else save_dir
        return train(
            self.cfg,
            save_dir,
            resume=resume,
            iters=iters,
            time_budget=time_budget,
            amp=amp,
            seed=seed,
            extra_hooks=extra_hooks,
        )

    def evaluate(self, weights: str | os.PathLike, **flags: Any) -> dict:
        """The val metrics of ``weights`` (``compute_metrics``); ``flags`` override ``eval`` keys (``flip=True``)."""
        setup_runtime(self.cfg)
        options = EvalSettings.of(self.cfg, **flags).inference_options()
        meta = self.meta
        model = self.build.model(weights)
        _, loader = self.build.val_data()
        return evaluate(model, loader, meta.num_classes, meta.ignore_index, **options)

    def predict(
        self,
        weights: str | os.PathLike,
        inputs: str | os.PathLike,
        save_dir: str | os.PathLike,
        alpha: float = 0.5,
        **flags: Any,
    ) -> list[Path]:
        """Segments an image or a directory of images; writes ``<stem>.png`` masks and ``<stem>_overlay.jpg``.

        Args:
            weights: A ``.pdparams`` file or a checkpoint directory.
            inputs: An image file or a directory of them.
            save_dir: Where the masks and overlays go.
            alpha: Mask opacity in the overlays.
            **flags: Override ``eval`` keys (``mode="slide"``, ``crop_size=[512, 512]``).

        Returns:
            The masks written, in input order.
        """
        if not 0.0 <= alpha <= 1.0:
            raise PaddleFCNError(f"--alpha must be in [0, 1], got {alpha}")
        setup_runtime(self.cfg)
        options = EvalSettings.of(self.cfg, **flags).inference_options()
        meta = self.meta
        transforms = build_transforms(require(self.cfg, "data.val").get("transforms"))
        images = list_images(inputs)
        model = self.build.model(weights)
        written = []
        for path in images:
            image = read_image(path)
            mask = predict_mask(model, image, transforms, **options)
            written.append(
                save_prediction(Path(save_dir), path.stem, image, mask, meta.palette, alpha, meta.ignore_index)
            )
        return written

    def export(
        self,
        weights: str | os.PathLike,
        save_dir: str | os.PathLike,
        output_op: Optional[str] = None,
        input_shape: Optional[Sequence[int]] = None,
        fmt: Optional[str] = None,
        precision: Optional[str] = None,
        **options: Any,
    ) -> DeployConfig:
        """Exports for deployment and checks the export against the model; returns its ``DeployConfig``.

        ``precision`` (``fp32``, ``bf16``, ``int8``) and ``options`` (``calib_images``, ``calib_split``,
        ``calib_method``, ``check_images``, ``max_miou_drop``) override the config's ``export`` keys; see
        ``paddlefcn.deploy.export_model``.
        """
        return export_model(self.cfg, weights, save_dir, output_op, input_shape, fmt, precision, **options)

    def benchmark(
        self, options: Optional[BenchmarkOptions] = None, work_dir: Optional[str | os.PathLike] = None
    ) -> dict:
        """Training, validation and inference speed and peak memory (``paddlefcn.benchmark.run_benchmark``)."""
        return run_benchmark(self.cfg, options or BenchmarkOptions(), work_dir)
