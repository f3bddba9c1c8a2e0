import math
import re
from pathlib import Path

import numpy as np
import paddle
import pytest
from paddle.vision.models import mobilenet_v2, mobilenet_v3_small, resnet50, vgg11, vgg13, vgg16, vgg19

from paddlefcn import BACKBONES, PaddleFCNError
from paddlefcn.models.backbones import Backbone, FeatureSpec
from paddlefcn.models.backbones.base import check_feature_specs

# Keeps the VGGs' fc6/fc7 small where their classifier weights are not under test; a plug-in gets {}.
SMALL_ARGS = {name: {"fc_channels": 16} for name in ("VGG11", "VGG13", "VGG16", "VGG19")}
PACKAGE_BACKBONES = [n for n in BACKBONES.names() if BACKBONES.get(n).__module__.startswith("paddlefcn.")]


def close(actual: paddle.Tensor, expected: paddle.Tensor) -> None:
    expected = expected.numpy()
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("name", BACKBONES.names())
def test_declared_feature_specs_match_the_outputs(name):
    backbone = BACKBONES.build({"type": name, **SMALL_ARGS.get(name, {})})
    backbone.eval()
    specs = backbone.feature_specs
    assert [s.stride for s in specs] == sorted(s.stride for s in specs)
    assert len({s.name for s in specs}) == len(specs), [s.name for s in specs]
    if name in PACKAGE_BACKBONES:
        assert [s.stride for s in specs] == [4, 8, 16, 32]
    with paddle.no_grad():
        features = backbone(paddle.randn([1, 3, 64, 96]))
    assert len(features) == len(specs)
    for feature, spec in zip(features, specs):
        assert feature.shape == [1, spec.channels, math.ceil(64 / spec.stride), math.ceil(96 / spec.stride)], spec


def test_resnet34_and_vgg16_keep_their_checkpoint_layout():
    resnet = BACKBONES.build({"type": "ResNet34"}).state_dict()
    assert len(resnet) == 180
    assert {k.split(".")[0] for k in resnet} == {"stem", "layer1", "layer2", "layer3", "layer4"}
    assert resnet["stem.0.weight"].shape == [64, 3, 7, 7] and resnet["stem.1._variance"].shape == [64]
    assert resnet["layer4.0.downsample.0.weight"].shape == [512, 256, 1, 1]
    vgg = BACKBONES.build({"type": "VGG16", "fc_channels": 16}).state_dict()
    convs = {"to_pool3": (0, 2, 5, 7, 10, 12, 14), "to_pool4": (0, 2, 4), "to_pool5": (0, 2, 4), "fc6": (), "fc7": ()}
    assert set(vgg) == {
        f"{seq}.{i}.{p}" if indices else f"{seq}.{p}"
        for seq, indices in convs.items()
        for i in indices or (None,)
        for p in ("weight", "bias")
    }
    assert vgg["to_pool3.14.weight"].shape == [256, 256, 3, 3] and vgg["to_pool4.0.weight"].shape == [512, 256, 3, 3]
    assert vgg["fc6.weight"].shape == [16, 512, 7, 7] and vgg["fc7.weight"].shape == [16, 16, 1, 1]


@pytest.mark.parametrize(("name", "factory"), [("VGG11", vgg11), ("VGG13", vgg13), ("VGG16", vgg16), ("VGG19", vgg19)])
def test_convolutionalized_vgg_reproduces_the_classifier_fc7(tmp_path, name, factory):
    paddle.seed(3)
    classifier = factory()
    classifier.eval()
    x = paddle.randn([1, 3, 224, 224])
    with paddle.no_grad():
        flat = paddle.flatten(classifier.avgpool(classifier.features(x)), 1)
        expected = classifier.classifier[:5](flat)  # Linear, ReLU, Dropout, Linear, ReLU
    path = tmp_path / f"{name}.pdparams"
    paddle.save(classifier.state_dict(), str(path))
    del classifier
    backbone = BACKBONES.build({"type": name, "pretrained": str(path)})
    backbone.eval()
    with paddle.no_grad():
        fc7_map = backbone(x)[-1]
    assert fc7_map.shape == [1, 4096, 7, 7]
    close(fc7_map[:, :, 3, 3], expected)


@pytest.fixture(scope="module")
def resnet50_weights(tmp_path_factory):
    paddle.seed(7)
    path = tmp_path_factory.mktemp("weights") / "resnet50.pdparams"
    paddle.save(resnet50().state_dict(), str(path))
    return str(path)


@pytest.mark.parametrize(
    ("output_stride", "strides"), [(16, {"layer3": 16, "layer4": 16}), (8, {"layer3": 8, "layer4": 8})]
)
def test_dilated_resnet50_keeps_resolution_and_loads_plain_weights(resnet50_weights, output_stride, strides):
    plain = BACKBONES.build({"type": "ResNet50", "pretrained": resnet50_weights})
    dilated = BACKBONES.build({"type": "ResNet50", "pretrained": resnet50_weights, "output_stride": output_stride})
    assert {s.name: s.stride for s in dilated.feature_specs} == {"layer1": 4, "layer2": 8, **strides}
    plain.eval()
    dilated.eval()
    x = paddle.randn([1, 3, 64, 96])
    with paddle.no_grad():
        plain_features, dilated_features = plain(x), dilated(x)
    for spec, plain_spec, coarse, fine in zip(
        dilated.feature_specs, plain.feature_specs, plain_features, dilated_features
    ):
        assert fine.shape == [1, spec.channels, 64 // spec.stride, 96 // spec.stride], spec
        # A dilated stage computes the plain stage densely: every step-th value is the plain output. That holds
        # only if each block has the right dilation (the first block of a stage keeping the previous one).
        step = plain_spec.stride // spec.stride
        close(fine[:, :, ::step, ::step], coarse)


def test_bad_output_strides_are_named():
    with pytest.raises(PaddleFCNError, match=r"ResNet18: output_stride 8 needs bottleneck blocks"):
        BACKBONES.build({"type": "ResNet18", "output_stride": 8})
    with pytest.raises(PaddleFCNError, match=r"ResNet34: output_stride 16 needs bottleneck blocks"):
        BACKBONES.build({"type": "ResNet34", "output_stride": 16})
    for bad in (4, 16.0, "8"):
        with pytest.raises(PaddleFCNError, match=r"ResNet101: output_stride must be 8, 16 or 32, got"):
            BACKBONES.build({"type": "ResNet101", "output_stride": bad})


@pytest.mark.parametrize(
    ("name", "factory", "trunk"),
    [
        ("MobileNetV2", mobilenet_v2, lambda net, x: net.features(x)),
        ("MobileNetV3Small", mobilenet_v3_small, lambda net, x: net.lastconv(net.blocks(net.conv(x)))),
    ],
)
def test_pretrained_path_loads_mobilenet_weights(tmp_path, name, factory, trunk):
    paddle.seed(11)
    source = factory(scale=0.5)
    source.eval()
    path = tmp_path / f"{name}.pdparams"
    paddle.save(source.state_dict(), str(path))
    backbone = BACKBONES.build({"type": name, "pretrained": str(path), "scale": 0.5})
    backbone.eval()
    x = paddle.randn([1, 3, 64, 64])
    with paddle.no_grad():
        close(backbone(x)[-1], trunk(source, x))


def test_unavailable_imagenet_weights_are_refused_before_any_download():
    with pytest.raises(PaddleFCNError, match="MobileNetV3Large: ImageNet weights exist for scale 1.0 only, got"):
        BACKBONES.build({"type": "MobileNetV3Large", "pretrained": "imagenet", "scale": 0.75})
    with pytest.raises(PaddleFCNError, match="MobileNetV2: scale must be a positive number, got 0"):
        BACKBONES.build({"type": "MobileNetV2", "scale": 0})
    for name in ("VGG11", "VGG13"):
        with pytest.raises(PaddleFCNError, match=f"{name}: paddle.vision has no ImageNet weights for vgg1"):
            BACKBONES.build({"type": name, "pretrained": "imagenet"})


def test_docs_list_every_backbone():
    text = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    listed = set(re.findall(r"^\| `(\w+)` \|", text.split("## Backbones", 1)[1], flags=re.M))
    assert set(PACKAGE_BACKBONES) <= listed


def test_bn_momentum_sets_how_fast_running_statistics_follow():
    paddle.seed(0)
    x = paddle.randn([2, 3, 64, 64]) * 3 + 5
    stats = {}
    for momentum in (None, 0.0):
        net = BACKBONES.build({"type": "MobileNetV3Small", "bn_momentum": momentum})
        net.train()
        net(x)
        first_norm = next(layer for layer in net.sublayers() if isinstance(layer, paddle.nn.BatchNorm2D))
        stats[momentum] = (first_norm._momentum, float(first_norm._mean.abs().mean()))
    assert stats[None][0] == 0.99 and stats[0.0][0] == 0.0
    assert stats[0.0][1] > 10 * stats[None][1]  # momentum 0: the running mean is the batch mean
    with pytest.raises(PaddleFCNError, match=r"MobileNetV2: bn_momentum must be in \[0, 1\), got 1.5"):
        BACKBONES.build({"type": "MobileNetV2", "bn_momentum": 1.5})


class Stated(Backbone):
    """Returns zero features of the given ``(channels, stride)``, whatever ``declared`` says; ``as_list=False``
    returns the first feature alone. Its batch norm and dropout show whether the forward ran in train mode."""

    def __init__(self, returned, declared, as_list=True):
        super().__init__()
        self.norm = paddle.nn.BatchNorm2D(3)
        self.dropout = paddle.nn.Dropout(0.5)
        self.frozen = paddle.nn.Identity()  # a layer a backbone may keep in eval mode while it trains
        self.returned, self.as_list = returned, as_list
        self.feature_specs = [FeatureSpec(f"f{i}", c, s) for i, (c, s) in enumerate(declared)]

    def forward(self, x):
        x = self.frozen(self.dropout(self.norm(x + 1)))
        features = [
            paddle.zeros([1, c, math.ceil(x.shape[2] / s), math.ceil(x.shape[3] / s)]) for c, s in self.returned
        ]
        return features if self.as_list else features[0]


TWO = [(8, 8), (16, 16)]  # (channels, stride) of two features


@pytest.mark.parametrize(
    ("returned", "declared", "as_list", "message"),
    [
        (TWO, [*TWO, (32, 32)], True, "forward returns 2 features, feature_specs declares 3"),
        (TWO, TWO, False, "forward returns Tensor, feature_specs declares 2"),
        (TWO, [(8, 8), (32, 16)], True, "feature 'f1' (index 1) has 16 channels, feature_specs declares 32"),
        (
            [(8, 8), (16, 8)],
            TWO,
            True,
            "feature 'f1' (index 1) is 8x8 from a 64x64 input (stride 8), feature_specs declares stride 16",
        ),
        ([(8, 4)], [(8, 128)], True, "feature 'f0' (index 0) is 16x16 from a 64x64 input (stride 4), feature_spec"),
        ([(8, 8)], [], True, "declares no feature_specs"),
    ],
)
def test_feature_specs_that_differ_from_the_outputs_are_named(returned, declared, as_list, message):
    with pytest.raises(PaddleFCNError, match="^" + re.escape(f"backbone Stated: {message}")):
        check_feature_specs(Stated(returned, declared, as_list), "Stated")


def test_checking_the_feature_specs_changes_no_state():
    net = Stated([(8, 8), (16, 64)], [(8, 8), (16, 64)])  # stride 64: 1x1, as ceil(64 / 64)
    net.train()
    net.frozen.eval()
    paddle.seed(5)
    check_feature_specs(net, "Stated")
    after = paddle.randn([4])
    paddle.seed(5)
    np.testing.assert_array_equal(after.numpy(), paddle.randn([4]).numpy())  # no random number drawn
    assert net.training and net.norm.training and net.dropout.training and not net.frozen.training  # as before
    np.testing.assert_array_equal(net.norm._mean.numpy(), np.zeros(3))  # the running statistics did not move
    np.testing.assert_array_equal(net.norm._variance.numpy(), np.ones(3))
