"""Training, evaluation and inference engine."""

from paddlefcn.engine.evaluator import evaluate
from paddlefcn.engine.inference import predict_logits
from paddlefcn.engine.metrics import ConfusionMatrix, compute_metrics, format_table
from paddlefcn.engine.weights import load_model_weights

__all__ = [
    "ConfusionMatrix",
    "compute_metrics",
    "evaluate",
    "format_table",
    "load_model_weights",
    "predict_logits",
]
