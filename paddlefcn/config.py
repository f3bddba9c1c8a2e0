"""YAML configs: ``_base_`` inheritance, ``-o`` overrides, validation and dumping."""

from __future__ import annotations

import copy
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.settings import FREE_SECTIONS, SECTIONS
from paddlefcn.utils.files import atomic_write_text

BASE_KEY = "_base_"
IMPORTS_KEY = "imports"
INHERIT_KEY = "_inherited_"
ANY = None  # a schema leaf: any value (or a free-form mapping checked by the registry that builds it)


def schema() -> dict[str, Any]:
    """The known keys: each section of ``settings.SECTIONS`` with its keys, and the sections their builders check."""
    known: dict[str, Any] = {name: ANY for name in FREE_SECTIONS}
    known.update({name: dict.fromkeys(section.keys(), ANY) for name, section in SECTIONS.items()})
    return known


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``5e-4`` and ``1e3`` as floats (YAML 1.1 wants a dot)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str) -> Any:
    """Parses YAML text; ``source`` names it in errors."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise PaddleFCNError(f"{source}{where}: invalid YAML ({problem})") from err


def load_config(path: str | os.PathLike, overrides: Optional[Iterable[str]] = None) -> dict:
    """Loads a config file with its ``_base_`` files and applies ``-o`` overrides.

    Args:
        path: The YAML file.
        overrides: Strings ``"a.b.c=value"`` exactly as given to ``-o``; values are parsed as YAML.

    Returns:
        The merged config as a plain dict.
    """
    cfg = _load_file(Path(path), chain=())
    if not cfg:
        raise PaddleFCNError(f"{path}: the config is empty")
    for item in overrides or ():
        apply_override(cfg, item)
    import_plugins(cfg.get(IMPORTS_KEY), str(path))
    return cfg


def import_plugins(modules: Any, source: str) -> None:
    """Imports the modules a config's ``imports`` lists, so that what they register can be built.

    Modules are found on ``sys.path`` and in the current directory (as ``python -m`` does). Every tool loads
    its config through ``load_config``, so every process imports them: distributed ranks each run the tool,
    and loader workers are forked from a process that has.

    Raises:
        ConfigError: ``imports`` is not a list of module names, or one fails to import (naming it and why).
    """
    if modules is None:
        return
    if not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules):
        raise ConfigError(f"{source}: imports must be a list of module names, e.g. [my_project.backbones]")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:  # whatever the module raises, the user sees which one and why
            reason = " ".join(str(err).split())
            raise ConfigError(f"{source}: imports: cannot import '{name}' ({type(err).__name__}: {reason})") from err


def _load_file(path: Path, chain: tuple[Path, ...]) -> dict:
    path = path.resolve()
    if path in chain:
        raise PaddleFCNError(f"{path}: _base_ files include each other in a loop")
    if not path.is_file():
        where = f" (a _base_ of {chain[-1]})" if chain else ""
        raise PaddleFCNError(f"config file not found: {path}{where}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise PaddleFCNError(f"{path}: not a UTF-8 text file (byte {err.start}); is it a YAML config?") from err
    data = parse_yaml(text, str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PaddleFCNError(f"{path}: a config must be a mapping, got {type(data).__name__}")
    if INHERIT_KEY in data:
        raise PaddleFCNError(
            f"{path}: {INHERIT_KEY} belongs inside a section (e.g. 'model: {{{INHERIT_KEY}: false, ...}}'); "
            "to inherit nothing from a file, leave it out of _base_"
        )
    bases = data.pop(BASE_KEY, [])
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise PaddleFCNError(f"{path}: _base_ must be a path or a list of paths")
    validate(data, str(path))
    merged: dict = {}
    for base in bases:
        merged = merge(merged, _load_file(path.parent / base, chain + (path,)))
    return merge(merged, data)


def merge(base: dict, child: dict) -> dict:
    """Deep-merges ``child`` into a copy of ``base``: dicts merge, everything else replaces.

    A child mapping with ``_inherited_: false`` replaces the base mapping instead of merging.
    """
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict):
            value = dict(value)
            inherit = value.pop(INHERIT_KEY, True)
            if inherit and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
                continue
            out[key] = merge({}, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate(cfg: dict, source: str) -> None:
    """Raises on a key that no part of paddlefcn reads, naming the key and ``source``."""
    _check_keys(cfg, schema(), (), source)


def _check_keys(node: dict, schema: dict, prefix: tuple[str, ...], source: str) -> None:
    for key, value in node.items():
        if key == INHERIT_KEY:
            continue
        dotted = ".".join(prefix + (str(key),))
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise PaddleFCNError(f"{source}: unknown config key '{dotted}' (known here: {known})")
        sub = schema[key]
        if isinstance(sub, dict):
            if not isinstance(value, dict):
                raise PaddleFCNError(f"{source}: '{dotted}' must be a mapping, got {value!r}")
            _check_keys(value, sub, prefix + (str(key),), source)


def apply_override(cfg: dict, item: str) -> None:
    """Applies one ``a.b.c=value`` override in place."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise PaddleFCNError(f"override '{item}' must look like key.path=value")
    parts = key.strip().split(".")
    value = parse_yaml(raw, f"override '{item}'")
    patch: Any = value
    for part in reversed(parts):
        patch = {part: patch}
    validate(patch, f"override '{item}'")
    node = cfg
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if child is not None:
                raise PaddleFCNError(f"override '{item}': '{part}' is not a mapping")
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def dump_config(cfg: dict, path: str | os.PathLike) -> None:
    """Writes the resolved config as YAML (atomically)."""
    atomic_write_text(path, dump_yaml(cfg))


def dump_yaml(cfg: dict) -> str:
    """The config as YAML text, keys in their original order."""
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None, allow_unicode=True)
