"""The backbone contract: feature maps described by name, channels and stride."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import paddle
from paddle import nn

from paddlefcn.errors import PaddleFCNError


@dataclass(frozen=True)
class FeatureSpec:
    """One feature map a backbone returns.

    Attributes:
        name: Layer name in the backbone ("layer3", "pool4").
        channels: Number of channels.
        stride: Input size divided by the feature map size.
    """

    name: str
    channels: int
    stride: int


class Backbone(nn.Layer):
    """Base of all backbones: ``forward(x)`` returns one tensor per entry of ``feature_specs``.

    Subclasses set ``self.feature_specs`` sorted by stride; heads select features by name or stride
    (``paddlefcn.models.heads.select_feature``).
    """

    feature_specs: list[FeatureSpec]


def load_vision_weights(
    model: nn.Layer,
    pretrained: Optional[str],
    imagenet_factory: Callable[[], nn.Layer],
) -> None:
    """Loads ``paddle.vision`` classifier weights into ``model`` (a fresh classifier of the same kind).

    Args:
        model: A ``paddle.vision.models`` network whose weights are replaced.
        pretrained: ``None`` (keep the random init), ``"imagenet"`` (Paddle's download and cache) or
            the path of a ``.pdparams`` state dict saved from the same architecture.
        imagenet_factory: Builds the same network with ``pretrained=True``.
    """
    if pretrained is None:
        return
    if pretrained == "imagenet":
        state = imagenet_factory().state_dict()
    else:
        path = Path(os.path.expanduser(str(pretrained)))
        if not path.is_file():
            raise PaddleFCNError(f"pretrained weights not found: {path} (use null, imagenet or a .pdparams path)")
        try:
            state = paddle.load(str(path))
        except Exception as err:  # paddle raises several types for a corrupt file
            raise PaddleFCNError(f"{path}: cannot read weights ({type(err).__name__}: {err})") from err
        if not isinstance(state, dict):
            raise PaddleFCNError(f"{path}: expected a state dict, got {type(state).__name__}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise PaddleFCNError(
            f"{pretrained}: {len(missing)} weights of {type(model).__name__} are missing, e.g. '{missing[0]}'"
        )
    for key, value in expected.items():
        if list(state[key].shape) != list(value.shape):
            raise PaddleFCNError(
                f"{pretrained}: '{key}' has shape {list(state[key].shape)}, expected {list(value.shape)}"
            )
    model.set_state_dict({key: state[key] for key in expected})
