"""What ``GET /model`` tells about the served model: its classes, preprocessing, runtime and versions."""

from __future__ import annotations

from dataclasses import asdict

import paddlefcn
from paddlefcn.serve.limits import ServeLimits
from paddlefcn.serve.worker import ModelSummary


def model_info(summary: ModelSummary, limits: ServeLimits) -> dict:
    """The served model's ``deploy.yaml`` facts, the backend running it, the package versions and the limits."""
    deploy = summary.deploy
    return {
        "model_dir": summary.model_dir,
        "num_classes": deploy.num_classes,
        "classes": deploy.class_names,
        "palette": deploy.palette,
        "transforms": deploy.transforms,
        "input_shape": deploy.input_shape,
        "output_op": deploy.output_op,
        "backend": summary.backend,
        "runtime": summary.runtime,
        "versions": {"paddlefcn": paddlefcn.__version__, "paddle": summary.paddle_version},
        "exported_with": deploy.exported_with,
        "limits": asdict(limits),
    }
