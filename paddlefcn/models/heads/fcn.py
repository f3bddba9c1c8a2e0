"""The FCN head: 1x1 score layers on skip features, fused by addition, upsampled in stages."""

from __future__ import annotations

from typing import Optional, Sequence

import paddle
from paddle import nn

from paddlefcn.errors import PaddleFCNError
from paddlefcn.models.backbones.base import FeatureSpec
from paddlefcn.models.heads.base import FeatureKey, Head
from paddlefcn.models.upsample import DEFAULT_UPSAMPLER, build_upsampler
from paddlefcn.registry import HEADS


@HEADS.register()
class FCNHead(Head):
    """Scores the coarsest feature, then repeatedly upsamples and adds the score of the next skip.

    Score layers start at zero, as in the paper, so a new skip begins as a no-op. The upsampling is in the
    network, to the input size.

    Args:
        feature_specs: The backbone's published features.
        num_classes: Number of output classes.
        skips: Features to fuse, coarsest first, each by stride or name: ``(32, 16, 8)`` for FCN-8s, or
            ``(layer4, layer3, layer2)`` on a backbone with two features at one stride.
        upsampler: Config of the in-network upsamplers (``type``, ``scheme``, ``init``, ``learnable``).
        final_upsampler: The last upsampler (to stride 1): keys that differ from ``upsampler``, or a whole
            config of another ``type`` (e.g. ``{type: Interpolate}``); default: same as ``upsampler``.
    """

    full_resolution = True

    def __init__(
        self,
        feature_specs: Sequence[FeatureSpec],
        num_classes: int,
        skips: Sequence[FeatureKey] = (32, 16, 8),
        upsampler: Optional[dict] = None,
        final_upsampler: Optional[dict] = None,
    ) -> None:
        super().__init__(feature_specs, num_classes)
        if not isinstance(skips, (list, tuple)) or not skips:
            raise PaddleFCNError(f"head skips must list features, coarsest first, got {skips!r}")
        selected = [self.select(key, "skips") for key in skips]
        strides = [spec.stride for _, spec in selected]
        if sorted(strides, reverse=True) != strides or len(set(strides)) != len(strides):
            raise PaddleFCNError(f"head skips must be features of distinct strides, coarsest first, got {list(skips)}")
        self.skips = strides
        self.feature_index = [index for index, _ in selected]
        zero = paddle.ParamAttr(initializer=nn.initializer.Constant(0.0))
        self.scores = nn.LayerList(
            [nn.Conv2D(spec.channels, num_classes, 1, weight_attr=zero, bias_attr=zero) for _, spec in selected]
        )
        upsampler = {"type": DEFAULT_UPSAMPLER, **(upsampler or {})}
        final = dict(final_upsampler or {})
        if final.get("type", upsampler["type"]) == upsampler["type"]:
            final = {**upsampler, **final}
        factors = [a // b for a, b in zip(strides, strides[1:])]
        self.upsamplers = nn.LayerList([build_upsampler(upsampler, num_classes, f) for f in factors])
        self.final_upsampler = build_upsampler(final, num_classes, strides[-1])

    def forward(self, features: list[paddle.Tensor]) -> paddle.Tensor:
        score = self.scores[0](features[self.feature_index[0]])
        for up, head, index in zip(self.upsamplers, self.scores[1:], self.feature_index[1:]):
            score = up(score) + head(features[index])
        return self.final_upsampler(score)


class _PaperHead(FCNHead):
    """An FCNHead whose skips are fixed by the class (``SKIPS``)."""

    SKIPS: tuple[int, ...] = ()

    def __init__(
        self,
        feature_specs: Sequence[FeatureSpec],
        num_classes: int,
        upsampler: Optional[dict] = None,
        final_upsampler: Optional[dict] = None,
    ) -> None:
        super().__init__(feature_specs, num_classes, self.SKIPS, upsampler, final_upsampler)


@HEADS.register()
class FCN32s(_PaperHead):
    """The stride-32 score upsampled 32x."""

    SKIPS = (32,)


@HEADS.register()
class FCN16s(_PaperHead):
    """Stride-32 score, upsampled 2x and added to the stride-16 score, then upsampled 16x."""

    SKIPS = (32, 16)


@HEADS.register()
class FCN8s(_PaperHead):
    """As FCN16s with one more 2x step fusing the stride-8 score, then upsampled 8x."""

    SKIPS = (32, 16, 8)
