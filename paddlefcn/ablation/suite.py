"""Variants of an ablation: config files given one by one or as a named suite of ``suites.yml``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from paddlefcn.config import parse_yaml
from paddlefcn.errors import PaddleFCNError

# The repository's suites, found from any working directory.
DEFAULT_SUITES_FILE = Path(__file__).resolve().parents[2] / "configs" / "ablation" / "suites.yml"


@dataclass(frozen=True)
class Variant:
    """One config of an ablation.

    Attributes:
        name: Row name in the report and directory name of its runs (the config's file stem).
        config: The config file.
    """

    name: str
    config: Path


def load_suite(name: str, suites_file: str | os.PathLike = DEFAULT_SUITES_FILE) -> list[Path]:
    """The config files of suite ``name`` in ``suites_file`` (a mapping of names to paths relative to it)."""
    path = Path(suites_file)
    if not path.is_file():
        raise PaddleFCNError(f"suites file not found: {path}")
    suites = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(suites, dict) or not all(isinstance(v, list) for v in suites.values()):
        raise PaddleFCNError(f"{path}: expected a mapping of suite names to lists of config files")
    if name not in suites:
        raise PaddleFCNError(f"{path}: unknown suite '{name}' (known: {', '.join(suites)})")
    return [path.parent / str(entry) for entry in suites[name]]


def resolve_variants(
    configs: Sequence[str | os.PathLike] = (),
    suite: Optional[str] = None,
    suites_file: str | os.PathLike = DEFAULT_SUITES_FILE,
) -> list[Variant]:
    """The variants of ``configs`` or of ``suite`` (exactly one of them), checking that the files exist."""
    if bool(configs) == bool(suite):
        raise PaddleFCNError("give config files or --suite NAME (one of the two)")
    paths = [Path(c) for c in configs] if configs else load_suite(suite, suites_file)
    if not paths:
        raise PaddleFCNError(f"suite '{suite}' lists no configs")
    variants = []
    for path in paths:
        if not path.is_file():
            raise PaddleFCNError(f"config file not found: {path}")
        variants.append(Variant(path.stem, path))
    names = [v.name for v in variants]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise PaddleFCNError(f"two variants are named '{duplicate}' (config file stems must differ)")
    return variants
