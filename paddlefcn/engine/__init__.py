"""Training, evaluation and inference engine."""

from paddlefcn.engine.evaluator import evaluate
from paddlefcn.engine.inference import predict_logits, predict_mask
from paddlefcn.engine.metrics import ConfusionMatrix, compute_metrics, format_table, save_metrics
from paddlefcn.engine.weights import load_model_weights, load_trained_model

__all__ = [
    "ConfusionMatrix",
    "compute_metrics",
    "evaluate",
    "format_table",
    "load_model_weights",
    "load_trained_model",
    "predict_logits",
    "predict_mask",
    "save_metrics",
]
