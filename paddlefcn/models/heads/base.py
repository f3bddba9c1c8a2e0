"""The head contract: take the backbone's feature list, return class logits at any stride."""

from __future__ import annotations

from typing import Sequence, Union

import paddle
from paddle import nn

from paddlefcn.errors import ConfigError
from paddlefcn.models.backbones.base import FeatureSpec

FeatureKey = Union[str, int]  # a feature's name ("layer3") or its stride (16)


class Head(nn.Layer):
    """Base of all heads: a subclass implements ``forward(features) -> logits [N, num_classes, h, w]``.

    The logits may be at any stride of the input: the segmentor resizes them (bilinear) to the input size and
    crops the padding. A head that upsamples to the input size itself sets ``full_resolution = True``.

    Args:
        feature_specs: What the backbone publishes, in the order of its feature list.
        num_classes: Number of output classes.
    """

    full_resolution = False

    def __init__(self, feature_specs: Sequence[FeatureSpec], num_classes: int) -> None:
        super().__init__()
        self.feature_specs = list(feature_specs)
        self.num_classes = num_classes

    def select(self, key: FeatureKey, argument: str = "feature") -> tuple[int, FeatureSpec]:
        """The position in the feature list and the spec of the feature named ``key``, or alone at stride ``key``;
        errors name the head and its ``argument``."""
        return select_feature(self.feature_specs, key, f"{type(self).__name__} {argument}")

    def forward(self, features: list[paddle.Tensor]) -> paddle.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(features)")


def select_feature(specs: Sequence[FeatureSpec], key: FeatureKey, asker: str = "head") -> tuple[int, FeatureSpec]:
    """The index and spec of the feature named ``key`` (a string) or published alone at stride ``key`` (an int).

    ``asker`` starts the error messages (``FCNHead skips``).

    Raises:
        ConfigError: No feature matches, or two share the stride; the message lists what the backbone publishes.
    """
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise ConfigError(f"{asker}: name a feature or give its stride, got {key!r}; {describe_features(specs)}")
    field = "name" if isinstance(key, str) else "stride"
    found = [(i, spec) for i, spec in enumerate(specs) if getattr(spec, field) == key]
    if len(found) == 1:
        return found[0]
    problem = "no feature" if not found else f"{len(found)} features ({', '.join(s.name for _, s in found)})"
    hint = "; name one instead" if found else ""
    raise ConfigError(f"{asker}: the backbone has {problem} at {field} {key!r}{hint}; {describe_features(specs)}")


def describe_features(specs: Sequence[FeatureSpec]) -> str:
    """``publishes layer1 (64 ch, stride 4), ...`` for an error message."""
    listed = ", ".join(f"{s.name} ({s.channels} ch, stride {s.stride})" for s in specs)
    return f"it publishes {listed}"
