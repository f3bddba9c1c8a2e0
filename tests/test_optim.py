import re

import numpy as np
import paddle
import pytest

from paddlefcn import PaddleFCNError, build_model
from paddlefcn.engine.optim import build_lr_scheduler, build_optimizer, split_decay
from paddlefcn.registry import LR_SCHEDULES, OPTIMIZERS


def lrs(scheduler, n):
    values = []
    for _ in range(n):
        values.append(scheduler.get_lr())
        scheduler.step()
    return np.array(values)


def test_poly_with_linear_warmup_follows_the_formula():
    base, total, warmup, power = 0.01, 20, 5, 0.9
    got = lrs(
        build_lr_scheduler(
            {"type": "poly", "base": base, "power": power, "warmup_iters": warmup, "warmup_start": 0.001}, total
        ),
        total,
    )
    it = np.arange(total)
    expected = np.where(
        it < warmup,
        0.001 + (base - 0.001) * it / warmup,
        base * (1 - (it - warmup) / (total - warmup)) ** power,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_bad_schedules_are_named():
    with pytest.raises(PaddleFCNError, match="unknown lr.type 'step'"):
        build_lr_scheduler({"type": "step"}, 10)
    with pytest.raises(PaddleFCNError, match=r"lr.warmup_iters must be in \[0, train.iters=10\), got 10"):
        build_lr_scheduler({"warmup_iters": 10}, 10)
    with pytest.raises(PaddleFCNError, match="lr.base must be a positive number, got 0"):
        build_lr_scheduler({"base": 0}, 10)


@pytest.fixture(scope="module")
def model():
    cfg = {
        "num_classes": 3,
        "backbone": {"type": "ResNet34"},
        "head": {"type": "FCN8s", "final_upsampler": {"learnable": False}},
    }
    return build_model(cfg)


def test_no_decay_on_biases_and_norm_layers(model):
    decay, plain = split_decay(model, ["bias", "norm"])
    names = {id(p): n for n, p in model.named_parameters()}
    plain_names = {names[id(p)] for p in plain}
    decay_names = {names[id(p)] for p in decay}
    assert "backbone.stem.1.weight" in plain_names and "backbone.layer1.0.bn1.bias" in plain_names
    assert "head.scores.0.bias" in plain_names
    assert "backbone.stem.0.weight" in decay_names and "head.upsamplers.0.deconv.weight" in decay_names
    assert "head.final_upsampler.deconv.weight" not in plain_names | decay_names, "frozen weights are not optimised"
    everything, nothing = split_decay(model, None)
    assert nothing == [] and len(everything) == len(decay) + len(plain)


def test_weight_decay_reaches_only_the_decayed_group(model):
    optimizer = build_optimizer(
        model,
        {"momentum": 0.0, "weight_decay": 0.5, "no_decay": ["bias", "norm"]},
        build_lr_scheduler({"base": 0.1}, 10),
    )
    conv = model.backbone.stem[0].weight
    norm = model.backbone.stem[1].weight
    before_conv, before_norm = conv.numpy().copy(), norm.numpy().copy()
    for p in model.parameters():
        if not p.stop_gradient:
            p.grad = paddle.zeros_like(p)  # zero gradients: only weight decay moves a parameter
    optimizer.step()
    np.testing.assert_allclose(conv.numpy(), before_conv * (1 - 0.1 * 0.5), rtol=1e-5)
    np.testing.assert_array_equal(norm.numpy(), before_norm)


def test_gradient_clipping_and_bad_optimizer(model):
    optimizer = build_optimizer(model, {"grad_clip": 1.0}, build_lr_scheduler({"base": 0.1}, 10))
    assert isinstance(optimizer._grad_clip, paddle.nn.ClipGradByGlobalNorm)
    with pytest.raises(PaddleFCNError, match="unknown optimizer.type 'Adam'"):
        build_optimizer(model, {"type": "Adam"}, build_lr_scheduler({"base": 0.1}, 10))


def test_a_key_the_entry_does_not_take_is_named_with_the_known_ones(model):
    with pytest.raises(
        PaddleFCNError,
        match=re.escape("unknown config key 'lr.bse' (known here: base, end, power, type, warmup_iters, warmup_start)"),
    ):
        build_lr_scheduler({"bse": 0.1}, 10)
    known = "grad_clip, momentum, nesterov, no_decay, type, weight_decay"
    with pytest.raises(PaddleFCNError, match=re.escape(f"unknown config key 'optimizer.lr' (known here: {known})")):
        build_optimizer(model, {"type": "Momentum", "lr": 0.1}, build_lr_scheduler({}, 10))  # an input, not a key
    with pytest.raises(PaddleFCNError, match=r"^'lr' must be a mapping, got 0.1$"):
        build_lr_scheduler(0.1, 10)


def test_registered_entries_follow_the_plugin_contract(model, monkeypatch):
    calls = {}

    def step_schedule(total_iters, base, every=1):
        calls["schedule"] = {"total_iters": total_iters, "base": base, "every": every}
        return paddle.optimizer.lr.StepDecay(base, step_size=every, gamma=0.5)

    def adam(model, lr, **keys):
        calls["optimizer"] = keys
        return paddle.optimizer.Adam(learning_rate=lr, parameters=model.parameters())

    monkeypatch.setitem(LR_SCHEDULES._entries, "step", step_schedule)
    monkeypatch.setitem(OPTIMIZERS._entries, "Adam", adam)
    lr = build_lr_scheduler({"type": "step", "base": 0.4, "every": 2}, 10)
    assert calls["schedule"] == {"total_iters": 10, "base": 0.4, "every": 2}
    assert lrs(lr, 4).tolist() == pytest.approx([0.4, 0.4, 0.2, 0.2])
    optimizer = build_optimizer(model, {"type": "Adam", "anything": 1}, lr)  # **keys takes any key
    assert isinstance(optimizer, paddle.optimizer.Adam) and calls["optimizer"] == {"anything": 1}
    with pytest.raises(PaddleFCNError, match=re.escape("'lr.gamma' (known here: base, every, type)")):
        build_lr_scheduler({"type": "step", "base": 0.4, "gamma": 0.1}, 10)
    with pytest.raises(PaddleFCNError, match=r"unknown lr.type 'stpe' \(known: poly, step\); did you mean 'step'\?"):
        build_lr_scheduler({"type": "stpe"}, 10)
