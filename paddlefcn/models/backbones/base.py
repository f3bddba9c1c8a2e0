"""The backbone contract: feature maps described by name, channels and stride."""

from __future__ import annotations

import math
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
    (``paddlefcn.models.heads.select_feature``). ``build_model`` verifies the specs with ``check_feature_specs``.
    """

    feature_specs: list[FeatureSpec]


# The side of the square input ``check_feature_specs`` runs a backbone on: a multiple of every usual stride.
CHECK_INPUT_SIZE = 64


def check_feature_specs(backbone: nn.Layer, name: str) -> None:
    """Runs ``backbone`` once on a small input and compares what it returns with its ``feature_specs``.

    The input is zeros and every layer runs in eval mode without gradients, so no random number is drawn and no
    normalisation statistic changes; each layer's train/eval mode is restored afterwards. A feature at stride
    ``s`` must be ``ceil(CHECK_INPUT_SIZE / s)`` on each side.

    Args:
        backbone: A built backbone.
        name: Its registered name, for the message.

    Raises:
        PaddleFCNError: One line naming the backbone and the first mismatch.
    """
    specs = getattr(backbone, "feature_specs", None)
    if not specs:
        raise PaddleFCNError(f"backbone {name}: declares no feature_specs")
    size = CHECK_INPUT_SIZE
    modes = [(layer, layer.training) for layer in backbone.sublayers(include_self=True)]
    for layer, _ in modes:
        layer.training = False  # not backbone.eval(): that also switches Paddle's global tracer mode
    try:
        with paddle.no_grad():
            features = backbone(paddle.zeros([1, 3, size, size]))
    finally:
        for layer, training in modes:
            layer.training = training
    if not isinstance(features, (list, tuple)) or len(features) != len(specs):
        got = f"{len(features)} features" if isinstance(features, (list, tuple)) else type(features).__name__
        raise PaddleFCNError(f"backbone {name}: forward returns {got}, feature_specs declares {len(specs)}")
    for index, (feature, spec) in enumerate(zip(features, specs)):
        culprit = f"backbone {name}: feature '{spec.name}' (index {index})"
        if not isinstance(feature, paddle.Tensor) or len(feature.shape) != 4:
            raise PaddleFCNError(f"{culprit} is not an [N, C, H, W] tensor")
        channels, height, width = feature.shape[1:]
        if channels != spec.channels:
            raise PaddleFCNError(f"{culprit} has {channels} channels, feature_specs declares {spec.channels}")
        if height != math.ceil(size / spec.stride) or width != math.ceil(size / spec.stride):
            raise PaddleFCNError(
                f"{culprit} is {height}x{width} from a {size}x{size} input (stride {size / height:g}), "
                f"feature_specs declares stride {spec.stride}"
            )


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
