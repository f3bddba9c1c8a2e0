"""Speed and memory of a config on the current device: training, validation and exported inference."""

from paddlefcn.benchmark.report import format_table, write_json
from paddlefcn.benchmark.run import BenchmarkOptions, run_benchmark

__all__ = ["BenchmarkOptions", "format_table", "run_benchmark", "write_json"]
