"""Training, evaluation and inference engine."""

from paddlefcn.engine.metrics import ConfusionMatrix, compute_metrics, format_table

__all__ = ["ConfusionMatrix", "compute_metrics", "format_table"]
