"""Shared test settings: deterministic, quiet Paddle on the CPU threads this machine has."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("GLOG_minloglevel", "2")
