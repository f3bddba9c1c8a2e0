"""Weight loading and the tools/val.py and tools/predict.py command lines."""

import paddle
import pytest

import paddlefcn
from paddlefcn.engine.weights import load_model_weights, load_trained_model
from paddlefcn.errors import PaddleFCNError

TINY_MODEL = {"num_classes": 3, "backbone": {"type": "VGG16", "fc_channels": 16}, "head": {"type": "FCN8s"}}


def build(num_classes=3):
    return paddlefcn.build_model(dict(TINY_MODEL, num_classes=num_classes))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model and its weights saved as a file and in the checkpoint layout."""
    paddle.seed(0)
    model = build()
    root = tmp_path_factory.mktemp("run")
    (root / "checkpoints" / "iter_10").mkdir(parents=True)
    (root / "best").mkdir()
    for path in (
        root / "w.pdparams",
        root / "checkpoints" / "iter_10" / "model.pdparams",
        root / "best" / "model.pdparams",
    ):
        paddle.save(model.state_dict(), str(path))
    return model, root


@pytest.mark.parametrize("where", ["w.pdparams", "checkpoints/iter_10", "best"])
def test_load_model_weights_from_a_file_or_a_checkpoint_dir(saved, where):
    model, root = saved
    paddle.seed(1)
    fresh = build()
    assert not bool(paddle.allclose(fresh.backbone.fc6.weight, model.backbone.fc6.weight))
    loaded = load_model_weights(fresh, root / where)
    assert loaded.name in ("w.pdparams", "model.pdparams")
    for name, value in model.state_dict().items():
        assert bool(paddle.equal_all(fresh.state_dict()[name], value)), name


def test_missing_weights_name_the_path_and_hint_at_best(saved, tmp_path):
    _, root = saved
    with pytest.raises(PaddleFCNError, match="weights not found: .*nope.pdparams"):
        load_model_weights(build(), tmp_path / "nope.pdparams")
    with pytest.raises(PaddleFCNError, match=r"has no model.pdparams; did you mean .*best\?"):
        load_model_weights(build(), root)


def test_wrong_shape_names_the_first_bad_key(saved):
    _, root = saved
    with pytest.raises(PaddleFCNError, match=r"w.pdparams: weight '[^']+' has shape \[3, .*needs \[5, "):
        load_model_weights(build(num_classes=5), root / "w.pdparams")


def test_wrong_keys_name_the_first_bad_key(saved, tmp_path):
    model, _ = saved
    state = dict(model.state_dict())
    first = next(iter(state))
    path = tmp_path / "renamed.pdparams"
    paddle.save({("x" + k if k == first else k): v for k, v in state.items()}, str(path))
    with pytest.raises(PaddleFCNError, match=f"renamed.pdparams: 1 weights of the model are missing, first '{first}'"):
        load_model_weights(build(), path)
    paddle.save(dict(state, extra=state[first]), str(path))
    with pytest.raises(PaddleFCNError, match="1 weights do not belong to the model, first 'extra'"):
        load_model_weights(build(), path)


def test_a_file_that_is_not_weights_is_a_user_error(tmp_path):
    path = tmp_path / "junk.pdparams"
    path.write_bytes(b"not a pickle")
    with pytest.raises(PaddleFCNError, match="junk.pdparams: cannot read weights"):
        load_model_weights(build(), path)


def test_load_trained_model_ignores_the_pretrained_backbone_and_sets_eval_mode(saved):
    model, root = saved
    cfg = dict(TINY_MODEL, backbone={"type": "VGG16", "fc_channels": 16, "pretrained": "/no/such/file.pdparams"})
    loaded = load_trained_model(cfg, root / "best")
    assert not loaded.training
    assert bool(paddle.equal_all(loaded.backbone.fc6.weight, model.backbone.fc6.weight))
    assert cfg["backbone"]["pretrained"] == "/no/such/file.pdparams"  # the caller's config is untouched
