"""Name-to-class registries that turn config dicts into objects."""

from __future__ import annotations

import difflib
from typing import Any, Callable, Optional, TypeVar

from paddlefcn.errors import ConfigError, PaddleFCNError

T = TypeVar("T")


class Registry:
    """Maps names used in configs to classes or factory functions.

    Args:
        kind: What the registry holds, used in error messages ("backbone").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., Any]] = {}

    def register(self, name: Optional[str] = None) -> Callable[[T], T]:
        """Decorator that registers a class or function under ``name`` (default: its own name)."""

        def add(obj: T) -> T:
            key = name or obj.__name__
            if key in self._entries:
                raise PaddleFCNError(f"{self.kind} '{key}' is already registered")
            self._entries[key] = obj
            return obj

        return add

    def get(self, name: str) -> Callable[..., Any]:
        """Returns the entry called ``name``; an unknown name lists the known ones."""
        if name in self._entries:
            return self._entries[name]
        known = sorted(self._entries)
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
        if not close:
            lowered = {k.lower(): k for k in known}
            close = [lowered[str(name).lower()]] if str(name).lower() in lowered else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown {self.kind} '{name}' (known: {', '.join(known) or 'none'}){hint}")

    def build(self, cfg: dict, **extra: Any) -> Any:
        """Builds the entry named by ``cfg['type']`` with the other keys (and ``extra``) as arguments."""
        if not isinstance(cfg, dict) or "type" not in cfg:
            raise ConfigError(f"a {self.kind} config needs a 'type' key, got {cfg!r}")
        kwargs = dict(cfg)
        factory = self.get(kwargs.pop("type"))
        kwargs.update(extra)
        try:
            return factory(**kwargs)
        except TypeError as err:
            if "argument" in str(err):
                raise ConfigError(f"{self.kind} '{cfg['type']}': {err}") from err
            raise
        except PaddleFCNError as err:
            if type(err) is PaddleFCNError:  # a value the entry refuses came from its config
                raise ConfigError(str(err)) from err
            raise

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


BACKBONES = Registry("backbone")
HEADS = Registry("head")
UPSAMPLERS = Registry("upsampler")
DATASETS = Registry("dataset")
TRANSFORMS = Registry("transform")
LOSSES = Registry("loss")
# Named by the config key that picks their entry, as their messages say ("unknown lr.type 'step'").
OPTIMIZERS = Registry("optimizer.type")
LR_SCHEDULES = Registry("lr.type")
