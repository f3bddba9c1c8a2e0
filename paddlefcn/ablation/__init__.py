"""Ablations: run config variants (several seeds, resumable) and report their metrics side by side."""

from paddlefcn.ablation.report import aggregate, write_report
from paddlefcn.ablation.run import RESULT_FILE, run_ablation, run_variant
from paddlefcn.ablation.suite import DEFAULT_SUITES_FILE, Variant, load_suite, resolve_variants

__all__ = [
    "DEFAULT_SUITES_FILE",
    "RESULT_FILE",
    "Variant",
    "aggregate",
    "load_suite",
    "resolve_variants",
    "run_ablation",
    "run_variant",
    "write_report",
]
