"""Every registered backbone with every registered head (declared features: test_backbones.py), auxiliary heads."""

import numpy as np
import paddle
import pytest

from paddlefcn import BACKBONES, FCN, HEADS, PaddleFCNError, build_model
from paddlefcn.models.backbones import FeatureSpec
from paddlefcn.models.heads import Head, select_feature
from paddlefcn.models.losses import SegmentationLoss, build_loss, loss_config
from paddlefcn.models.segmentor import pad_to_stride

NUM_CLASSES = 3
ODD = (65, 97)  # not a multiple of any stride: padding and cropping are exercised


def backbone_cfg(name: str) -> dict:
    """A cheap config of a registered backbone (VGG's fc6/fc7 narrowed: their width is not under test here)."""
    return {"type": name, **({"fc_channels": 16} if name.startswith("VGG") else {})}


@pytest.fixture(scope="module", params=BACKBONES.names())
def backbone(request):
    paddle.seed(0)
    net = BACKBONES.build(backbone_cfg(request.param))
    net.eval()
    return net


@pytest.mark.parametrize("head_name", HEADS.names())
@pytest.mark.parametrize("aux", [False, True], ids=["plain", "aux"])
def test_every_head_on_every_backbone_gives_logits_at_the_input_size(backbone, head_name, aux):
    paddle.seed(0)
    specs = {"feature_specs": backbone.feature_specs, "num_classes": NUM_CLASSES}
    aux_heads = [HEADS.build({"type": "ConvHead", "feature": 16, "channels": 8}, **specs)] if aux else []
    model = FCN(backbone, HEADS.build({"type": head_name}, **specs), NUM_CLASSES, aux_heads)
    x = paddle.randn([1, 3, *ODD])
    model.eval()
    with paddle.no_grad():
        logits = model(x)
    assert list(logits.shape) == [1, NUM_CLASSES, *ODD]
    if aux:
        model.train()
        outputs = model(x)
        assert isinstance(outputs, list) and [list(o.shape) for o in outputs] == [[1, NUM_CLASSES, *ODD]] * 2
        model.eval()


SPECS = [FeatureSpec("layer1", 8, 4), FeatureSpec("layer2", 16, 8), FeatureSpec("layer3", 32, 8)]


def test_features_are_selected_by_name_or_unique_stride():
    assert select_feature(SPECS, "layer3") == (2, SPECS[2])
    assert select_feature(SPECS, 4) == (0, SPECS[0])
    with pytest.raises(PaddleFCNError, match=r"2 features \(layer2, layer3\) at stride 8; name one instead"):
        select_feature(SPECS, 8)
    with pytest.raises(PaddleFCNError, match=r"no feature at name 'pool4'; it publishes layer1 \(8 ch, stride 4\)"):
        select_feature(SPECS, "pool4")
    with pytest.raises(PaddleFCNError, match="ConvHead feature: the backbone has no feature at stride 32"):
        HEADS.build({"type": "ConvHead", "feature": 32}, feature_specs=SPECS, num_classes=2)


class QuarterHead(Head):
    """A head that implements only forward, at stride 4: a constant score map per class."""

    def forward(self, features):
        feature = features[0]
        ramp = paddle.arange(feature.shape[3], dtype="float32").reshape([1, 1, 1, -1])
        return paddle.concat([ramp, -ramp], axis=1).tile([feature.shape[0], 1, feature.shape[2], 1])


def test_logits_of_a_strided_head_are_resized_bilinearly_and_cropped():
    backbone = BACKBONES.build({"type": "ResNet18"})
    model = FCN(backbone, QuarterHead(backbone.feature_specs, 2), 2)
    model.eval()
    x = paddle.zeros([1, 3, *ODD])
    with paddle.no_grad():
        logits = model(x).numpy()
    padded = pad_to_stride(x)
    coarse = np.arange(padded.shape[3] // 4, dtype="float32")
    expected = paddle.nn.functional.interpolate(
        paddle.to_tensor(np.tile(coarse, (1, 1, padded.shape[2] // 4, 1))),
        size=padded.shape[2:],
        mode="bilinear",
        align_corners=False,
    ).numpy()[0, 0, : ODD[0], : ODD[1]]
    assert logits.shape == (1, 2, *ODD)
    np.testing.assert_allclose(logits[0, 0], expected, atol=1e-5)
    np.testing.assert_allclose(logits[0, 1], -expected, atol=1e-5)


def test_dilated_resnet_feeds_an_fcn_head_by_feature_names():
    cfg = {
        "num_classes": NUM_CLASSES,
        "backbone": {"type": "ResNet50", "output_stride": 8},
        "head": {"type": "FCNHead", "skips": ["layer4", "layer1"]},
    }
    model = build_model(cfg)
    assert model.head.skips == [8, 4]
    model.eval()
    with paddle.no_grad():
        assert list(model(paddle.randn([1, 3, *ODD])).shape) == [1, NUM_CLASSES, *ODD]
    with pytest.raises(PaddleFCNError, match="FCN8s skips: the backbone has no feature at stride 32"):
        build_model(dict(cfg, head={"type": "FCN8s"}))


def test_aux_heads_need_a_type_and_a_positive_loss_weight():
    cfg = {"num_classes": 2, "backbone": {"type": "ResNet18"}, "head": {"type": "FCN8s"}}
    with pytest.raises(PaddleFCNError, match=r"model.aux_heads\[0\].loss_weight must be a positive number"):
        build_model(dict(cfg, aux_heads=[{"type": "ConvHead", "loss_weight": 0}]))
    with pytest.raises(PaddleFCNError, match=r"model.aux_heads\[0\] must be a head config with a 'type'"):
        build_model(dict(cfg, aux_heads=[{"feature": 16}]))
    assert build_model(cfg).aux_heads is None and "aux_heads" not in str(list(build_model(cfg).state_dict()))


def test_combined_loss_is_the_weighted_sum_over_losses_and_heads():
    rng = np.random.default_rng(0)
    main, aux = (paddle.to_tensor(rng.standard_normal((2, 3, 5, 7)).astype("float32")) for _ in range(2))
    labels = rng.integers(0, 3, (2, 5, 7))
    labels[0, 0, :3] = 255
    labels = paddle.to_tensor(labels)
    entries = loss_config([{"type": "CrossEntropyLoss"}, {"type": "DiceLoss", "coef": 0.5}], 255, 3)
    assert [e["coef"] for e in entries] == [1.0, 0.5] and all(e["ignore_index"] == 255 for e in entries)
    combined = build_loss(entries, aux_weights=[0.4])
    ce, dice = combined.losses

    def term(logits):
        return float(ce(logits, labels)) + 0.5 * float(dice(logits, labels))

    assert isinstance(combined, SegmentationLoss)
    assert float(combined([main, aux], labels)) == pytest.approx(term(main) + 0.4 * term(aux), rel=1e-6)
    with pytest.raises(ValueError, match="expected logits of 1 \\+ 1 heads, got 1"):
        combined(main, labels)
    with pytest.raises(PaddleFCNError, match=r"loss\[1\].ignore_index is 11 but the training set ignores label 255"):
        loss_config([{"type": "DiceLoss"}, {"type": "CrossEntropyLoss", "ignore_index": 11}], 255, 3)
    with pytest.raises(PaddleFCNError, match=r"loss\[0\].coef must be a positive number"):
        loss_config([{"type": "DiceLoss", "coef": -1}], 255, 3)
    with pytest.raises(PaddleFCNError, match="a single loss takes none"):
        loss_config({"type": "DiceLoss", "coef": 2}, 255, 3)


def test_combined_losses_with_an_aux_head_lower_the_loss():
    paddle.seed(0)
    cfg = {
        "num_classes": 2,
        "backbone": {"type": "ResNet18"},
        "head": {"type": "FCN16s"},
        "aux_heads": [{"type": "ConvHead", "feature": "layer3", "channels": 16, "loss_weight": 0.4}],
    }
    model = build_model(cfg)
    loss_fn = build_loss(
        loss_config([{"type": "CrossEntropyLoss"}, {"type": "LovaszSoftmaxLoss", "coef": 0.5}], 255, 2), [0.4]
    )
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 3, 64, 64)).astype("float32")
    labels = np.zeros((2, 64, 64), dtype="int64")
    labels[:, 16:48, 16:48] = 1
    images[:, 0] += 2 * labels  # the class is visible in the red channel
    images, labels = paddle.to_tensor(images), paddle.to_tensor(labels)
    optimizer = paddle.optimizer.Momentum(0.01, momentum=0.9, parameters=model.parameters())
    aux_start = model.aux_heads[0].classifier.weight.numpy().copy()
    model.train()
    losses = []
    for _ in range(12):
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        losses.append(float(loss))
    assert not np.allclose(model.aux_heads[0].classifier.weight.numpy(), aux_start)  # the aux head is trained
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3]), losses
