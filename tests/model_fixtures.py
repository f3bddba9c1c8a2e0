"""Tiny models for the export and deploy tests."""

from __future__ import annotations

import paddle

import paddlefcn

TINY_MODEL = {"num_classes": 3, "backbone": {"type": "VGG16", "fc_channels": 16}, "head": {"type": "FCN8s"}}


def scored_model(model_cfg: dict = TINY_MODEL, seed: int = 0) -> paddlefcn.FCN:
    """A model whose score layers are random (they start at zero), so its classes vary over the image."""
    paddle.seed(seed)
    model = paddlefcn.build_model(model_cfg)
    for conv in getattr(model.head, "scores", []):  # other heads start random
        weight = paddle.randn(conv.weight.shape)
        conv.weight.set_value(weight - weight.mean(axis=0, keepdim=True))
        conv.bias.set_value(paddle.zeros(conv.bias.shape))
    model.eval()
    return model
