"""Deployment: export to Paddle inference / ONNX models (fp32, bf16 or int8) with a ``deploy.yaml``, and the
``Predictor`` for them."""

from paddlefcn.data.io import list_images
from paddlefcn.deploy.export import export_model
from paddlefcn.deploy.manifest import DEPLOY_FILE, FORMATS, DeployConfig, read_deploy_config
from paddlefcn.deploy.precision import PRECISIONS
from paddlefcn.deploy.predictor import Predictor, predict_files

__all__ = [
    "DEPLOY_FILE",
    "FORMATS",
    "PRECISIONS",
    "DeployConfig",
    "Predictor",
    "export_model",
    "list_images",
    "predict_files",
    "read_deploy_config",
]
