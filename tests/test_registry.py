import pytest

from paddlefcn import BACKBONES, HEADS, LOSSES, LR_SCHEDULES, OPTIMIZERS, UPSAMPLERS, PaddleFCNError
from paddlefcn.registry import Registry


def test_register_get_and_build_pass_arguments():
    reg = Registry("widget")

    @reg.register()
    class Knob:
        def __init__(self, size, colour="red"):
            self.size, self.colour = size, colour

    built = reg.build({"type": "Knob", "size": 3}, colour="blue")
    assert isinstance(built, Knob) and (built.size, built.colour) == (3, "blue")
    assert reg.get("Knob") is Knob and "Knob" in reg and reg.names() == ["Knob"]


def test_register_under_given_name():
    reg = Registry("widget")
    reg.register("dial")(dict)
    assert reg.get("dial") is dict


def test_duplicate_name_is_an_error():
    reg = Registry("widget")
    reg.register("A")(dict)
    with pytest.raises(PaddleFCNError, match="widget 'A' is already registered"):
        reg.register("A")(list)


def test_unknown_name_lists_known_and_suggests_closest():
    with pytest.raises(PaddleFCNError) as err:
        BACKBONES.get("ResNet43")
    message = str(err.value)
    assert "unknown backbone 'ResNet43'" in message
    assert "known: " in message and "ResNet34" in message and "VGG16" in message
    assert "did you mean 'ResNet34'?" in message
    assert "\n" not in message


def test_unknown_name_with_other_case_is_suggested():
    with pytest.raises(PaddleFCNError, match="did you mean 'VGG16'"):
        BACKBONES.get("vgg16")


def test_build_without_type_and_with_bad_argument():
    with pytest.raises(PaddleFCNError, match="needs a 'type' key"):
        HEADS.build({"skips": [32]})
    with pytest.raises(PaddleFCNError, match="upsampler 'Interpolate'.*unexpected keyword argument 'scheme'"):
        UPSAMPLERS.build({"type": "Interpolate", "scheme": "2x/2x"}, channels=3, factor=2)


def test_expected_entries_are_registered():
    """A subset, not the exact list: plug-ins (``imports:``) add their own names."""
    resnets = {f"ResNet{depth}" for depth in (18, 34, 50, 101, 152)}
    vggs = {f"VGG{depth}" for depth in (11, 13, 16, 19)}
    assert resnets | vggs | {"MobileNetV2", "MobileNetV3Small", "MobileNetV3Large"} <= set(BACKBONES.names())
    assert {"FCNHead", "FCN32s", "FCN16s", "FCN8s", "ConvHead"} <= set(HEADS.names())
    assert {"TransposedConv", "Interpolate"} <= set(UPSAMPLERS.names())
    assert {"CrossEntropyLoss", "DiceLoss", "LovaszSoftmaxLoss"} <= set(LOSSES.names())
    assert {"SGD", "Momentum"} <= set(OPTIMIZERS.names()) and "poly" in LR_SCHEDULES
