import itertools
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml
from paddle.vision.models import resnet34

from paddlefcn import BACKBONES, FCN, HEADS, PaddleFCNError, build_model, load_config
from paddlefcn.models.upsample import INITS, SCHEMES, Interpolate, TransposedConv

# Small settings that keep the backbones fast on a CPU.
SMALL_BACKBONE_ARGS = {"VGG16": {"fc_channels": 16}}
PAPER_HEADS = ["FCN32s", "FCN16s", "FCN8s"]
UPSAMPLER_CFGS = [{"scheme": s, "init": i} for s, i in itertools.product(SCHEMES, INITS)] + [{"type": "Interpolate"}]


def backbone_cfg(name):
    return {"type": name, **SMALL_BACKBONE_ARGS.get(name, {})}


# Every backbone meets every head in test_heads.py; here the upsampler configs, on one backbone of each kind of stem.
@pytest.mark.parametrize("backbone", ["ResNet34", "VGG16"])
@pytest.mark.parametrize("head", PAPER_HEADS)
def test_every_paper_head_and_upsampler_builds_from_yaml_and_keeps_the_input_size(tmp_path, backbone, head):
    for i, upsampler in enumerate(UPSAMPLER_CFGS):
        cfg_file = tmp_path / f"model{i}.yml"
        model_cfg = {
            "num_classes": 5,
            "backbone": backbone_cfg(backbone),
            "head": {"type": head, "upsampler": upsampler},
        }
        cfg_file.write_text(yaml.safe_dump({"model": model_cfg}))
        model = build_model(load_config(cfg_file)["model"])
        kind = Interpolate if upsampler.get("type") == "Interpolate" else TransposedConv
        assert isinstance(model.head.final_upsampler, kind)
        model.eval()
        for shape in ([1, 3, 65, 97], [2, 3, 64, 64]):
            assert model(paddle.randn(shape)).shape == [shape[0], 5, shape[2], shape[3]], (upsampler, shape)


@pytest.mark.parametrize(("head", "factors"), [("FCN32s", [32]), ("FCN16s", [2, 16]), ("FCN8s", [2, 2, 8])])
def test_paper_heads_have_the_paper_skips(head, factors):
    model = build_model({"num_classes": 3, "backbone": backbone_cfg("ResNet34"), "head": {"type": head}})
    ups = list(model.head.upsamplers) + [model.head.final_upsampler]
    assert [u.factor for u in ups] == factors
    assert len(model.head.scores) == len(factors)


def test_score_layers_start_at_zero_so_skips_start_as_no_ops():
    paddle.seed(0)
    cfg = {"num_classes": 3, "backbone": backbone_cfg("ResNet34"), "head": {"type": "FCN8s"}}
    model = build_model(cfg)
    model.eval()
    for score in model.head.scores:
        assert float(score.weight.abs().sum()) == 0.0
    out = model(paddle.randn([1, 3, 64, 64]))
    assert float(out.abs().max()) == 0.0


def test_final_upsampler_overrides_apply_only_to_the_last_upsampler():
    head = {
        "type": "FCN8s",
        "upsampler": {"scheme": "2x/2x", "init": "nearest", "learnable": True},
        "final_upsampler": {"learnable": False},
    }
    model = build_model({"num_classes": 3, "backbone": backbone_cfg("ResNet34"), "head": head})
    assert all(not u.deconv.weight.stop_gradient for u in model.head.upsamplers)
    assert model.head.final_upsampler.deconv.weight.stop_gradient
    assert model.head.final_upsampler.scheme == "2x/2x"


def test_final_upsampler_naming_the_default_type_still_inherits_the_upsampler_settings():
    head = {
        "type": "FCN32s",
        "upsampler": {"scheme": "2x/2x", "init": "nearest"},
        "final_upsampler": {"type": "TransposedConv", "learnable": False},
    }
    final = build_model({"num_classes": 3, "backbone": backbone_cfg("ResNet34"), "head": head}).head.final_upsampler
    assert (final.scheme, final.init, final.deconv.weight.stop_gradient) == ("2x/2x", "nearest", True)


def test_final_upsampler_of_another_type_replaces_the_upsampler_settings():
    head = {
        "type": "FCN16s",
        "upsampler": {"scheme": "2x/2x", "init": "nearest"},
        "final_upsampler": {"type": "Interpolate"},
    }
    model = build_model({"num_classes": 3, "backbone": backbone_cfg("ResNet34"), "head": head})
    assert isinstance(model.head.upsamplers[0], TransposedConv) and model.head.upsamplers[0].scheme == "2x/2x"
    assert isinstance(model.head.final_upsampler, Interpolate) and model.head.final_upsampler.factor == 16
    shipped = load_config(
        Path(__file__).resolve().parents[1] / "configs" / "fcn8s_resnet34.yml",
        [
            "model.backbone.pretrained=null",
            "model.head.upsampler={type: Interpolate}",
            "model.head.final_upsampler=null",
        ],
    )
    assert isinstance(build_model(shipped["model"]).head.upsamplers[0], Interpolate)


def test_custom_head_skips_and_bad_skips():
    specs = BACKBONES.build(backbone_cfg("ResNet34")).feature_specs
    head = HEADS.build({"type": "FCNHead", "skips": [32, 16, 8, 4]}, feature_specs=specs, num_classes=2)
    assert [u.factor for u in head.upsamplers] == [2, 2, 2] and head.final_upsampler.factor == 4
    with pytest.raises(PaddleFCNError, match=r"FCNHead skips: the backbone has no feature at stride 2; it publishes"):
        HEADS.build({"type": "FCNHead", "skips": [32, 2]}, feature_specs=specs, num_classes=2)
    with pytest.raises(PaddleFCNError, match="coarsest first"):
        HEADS.build({"type": "FCNHead", "skips": [8, 16]}, feature_specs=specs, num_classes=2)


def test_build_model_errors_name_the_key():
    with pytest.raises(PaddleFCNError, match="missing required key 'model.head'"):
        build_model({"num_classes": 3, "backbone": {"type": "ResNet34"}})
    with pytest.raises(PaddleFCNError, match="model.num_classes must be an integer >= 1, got 0"):
        build_model({"num_classes": 0, "backbone": {"type": "ResNet34"}, "head": {"type": "FCN8s"}})
    with pytest.raises(PaddleFCNError, match="unknown head 'FCN4s'.*did you mean"):
        build_model({"num_classes": 3, "backbone": {"type": "ResNet34"}, "head": {"type": "FCN4s"}})


def test_shipped_configs_build(tmp_path):
    configs = sorted(Path(__file__).resolve().parents[1].glob("configs/fcn*s_*.yml"))
    assert len(configs) == 6
    for path in configs:
        cfg = load_config(path, ["model.backbone.pretrained=null"])
        if cfg["model"]["backbone"]["type"] == "VGG16":
            cfg["model"]["backbone"]["fc_channels"] = 16
        assert isinstance(build_model(cfg["model"]), FCN), path


def test_pretrained_path_loads_resnet_weights(tmp_path):
    paddle.seed(5)
    source = resnet34()
    path = tmp_path / "r34.pdparams"
    paddle.save(source.state_dict(), str(path))
    backbone = BACKBONES.build({"type": "ResNet34", "pretrained": str(path)})
    np.testing.assert_array_equal(backbone.layer4[0].conv1.weight.numpy(), source.layer4[0].conv1.weight.numpy())
    np.testing.assert_array_equal(backbone.stem[1]._mean.numpy(), source.bn1._mean.numpy())


def test_bad_pretrained_weights_are_named(tmp_path):
    with pytest.raises(PaddleFCNError, match=r"pretrained weights not found: .*none\.pdparams"):
        BACKBONES.build({"type": "ResNet34", "pretrained": str(tmp_path / "none.pdparams")})
    corrupt = tmp_path / "corrupt.pdparams"
    corrupt.write_bytes(b"not a pickle")
    with pytest.raises(PaddleFCNError, match=r"corrupt\.pdparams: cannot read weights"):
        BACKBONES.build({"type": "ResNet34", "pretrained": str(corrupt)})
    partial = tmp_path / "partial.pdparams"
    state = resnet34().state_dict()
    state.pop("fc.weight")
    paddle.save(state, str(partial))
    with pytest.raises(PaddleFCNError, match=r"partial\.pdparams: 1 weights of ResNet are missing, e.g. 'fc.weight'"):
        BACKBONES.build({"type": "ResNet34", "pretrained": str(partial)})
    with pytest.raises(PaddleFCNError, match="fc_channels=64 cannot take pretrained classifier weights"):
        BACKBONES.build({"type": "VGG16", "pretrained": "imagenet", "fc_channels": 64})


def test_shape_mismatch_in_weights_is_named(tmp_path):
    state = resnet34().state_dict()
    state["fc.weight"] = paddle.zeros([3, 3])
    path = tmp_path / "wrong.pdparams"
    paddle.save(state, str(path))
    with pytest.raises(PaddleFCNError, match=r"'fc.weight' has shape \[3, 3\], expected \[512, 1000\]"):
        BACKBONES.build({"type": "ResNet34", "pretrained": str(path)})
