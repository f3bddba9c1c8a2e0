"""Confusion matrix and metrics against a straightforward numpy computation."""

import io
import json
import math

import cv2
import numpy as np
import paddle
import pytest
from paddle import nn

from paddlefcn.engine.evaluator import ProgressBar, evaluate
from paddlefcn.engine.inference import predict_logits
from paddlefcn.engine.metrics import RESULT_KEYS, ConfusionMatrix, compute_metrics, format_table, save_metrics
from paddlefcn.errors import PaddleFCNError

IGNORE = 255


def reference(preds, labels, num_classes):
    """Metrics computed class by class from boolean masks, independently of the code under test."""
    pred = np.concatenate([p.ravel() for p in preds])
    label = np.concatenate([t.ravel() for t in labels])
    keep = label != IGNORE
    pred, label = pred[keep], label[keep]
    ious, accs, weighted = [], [], 0.0
    for c in range(num_classes):
        inter = np.sum((pred == c) & (label == c))
        union = np.sum((pred == c) | (label == c))
        ious.append(inter / union if union else None)
        accs.append(inter / np.sum(label == c) if np.sum(label == c) else None)
        if np.sum(label == c):
            weighted += np.sum(label == c) / label.size * ious[-1]
    cm = [[int(np.sum((label == i) & (pred == j))) for j in range(num_classes)] for i in range(num_classes)]
    return {
        "miou": np.mean([v for v in ious if v is not None]),
        "pa": np.mean(pred == label),
        "mpa": np.mean([v for v in accs if v is not None]),
        "fwiou": weighted,
        "class_iou": ious,
        "class_acc": accs,
        "confusion_matrix": cm,
    }


def assert_close(actual, expected):
    if expected is None:
        assert actual is None
    else:
        assert actual == pytest.approx(expected, abs=1e-9)


def random_batches(rng, num_classes, absent, batches=3):
    """Random predictions and labels; classes in ``absent`` never occur in either."""
    allowed = np.array([c for c in range(num_classes) if c not in absent])
    preds, labels = [], []
    for _ in range(batches):
        label = rng.choice(allowed, size=(2, 9, 11))
        label[rng.random(label.shape) < 0.2] = IGNORE
        pred = rng.choice(allowed, size=(2, 9, 11))
        preds.append(pred)
        labels.append(label)
    return preds, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_numpy_reference_with_absent_classes_and_ignore(seed):
    rng = np.random.default_rng(seed)
    num_classes = 6
    preds, labels = random_batches(rng, num_classes, absent={2, 5})
    # Class 4 only ever appears as a (wrong) prediction: IoU 0, accuracy undefined.
    preds[0][0, 0, 0], labels[0][0, 0, 0] = 4, 1
    labels = [np.where(t == 4, 0, t) for t in labels]
    cm = ConfusionMatrix(num_classes, IGNORE)
    for pred, label in zip(preds, labels):
        cm.update(paddle.to_tensor(pred), paddle.to_tensor(label))
    got = compute_metrics(cm.numpy())
    want = reference(preds, labels, num_classes)

    assert set(got) == set(RESULT_KEYS)
    assert got["confusion_matrix"] == want["confusion_matrix"]
    for key in ("miou", "pa", "mpa", "fwiou"):
        assert_close(got[key], want[key])
    for key in ("class_iou", "class_acc"):
        assert len(got[key]) == num_classes
        for actual, expected in zip(got[key], want[key]):
            assert_close(actual, expected)
    assert got["class_iou"][2] is None and got["class_iou"][5] is None
    assert got["class_iou"][4] == 0.0 and got["class_acc"][4] is None


def test_ignored_pixels_are_not_counted():
    label = paddle.to_tensor([[[0, 1], [IGNORE, IGNORE]]])
    pred = paddle.to_tensor([[[0, 1], [1, 0]]])
    cm = ConfusionMatrix(2, IGNORE)
    cm.update(pred, label)
    assert cm.numpy().tolist() == [[1, 0], [0, 1]]
    assert compute_metrics(cm.numpy())["pa"] == 1.0


def test_updates_accumulate_and_reset_clears():
    cm = ConfusionMatrix(3)
    ones = paddle.ones([1, 4, 4], dtype="int64")
    cm.update(ones, ones)
    cm.update(ones, ones * 2)
    assert cm.numpy()[1, 1] == 16 and cm.numpy()[2, 1] == 16 and cm.numpy().sum() == 32
    cm.reset()
    assert cm.numpy().sum() == 0


def test_all_reduce_is_identity_in_one_process():
    cm = ConfusionMatrix(2)
    cm.update(paddle.to_tensor([[[0, 1]]]), paddle.to_tensor([[[1, 1]]]))
    assert cm.all_reduce().numpy().tolist() == [[0, 0], [1, 1]]


def test_label_outside_classes_is_a_user_error():
    cm = ConfusionMatrix(3, IGNORE)
    with pytest.raises(PaddleFCNError, match="label value 7"):
        cm.update(paddle.zeros([1, 2, 2], dtype="int64"), paddle.full([1, 2, 2], 7, dtype="int64"))


def test_shape_mismatch_raises():
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="shape"):
        cm.update(paddle.zeros([1, 2, 2], dtype="int64"), paddle.zeros([1, 2, 3], dtype="int64"))


def test_metrics_of_a_perfect_prediction_and_json_round_trip():
    cm = np.array([[5, 0, 0], [0, 3, 0], [0, 0, 0]])
    metrics = compute_metrics(cm)
    assert metrics["miou"] == 1.0 and metrics["pa"] == 1.0 and metrics["mpa"] == 1.0 and metrics["fwiou"] == 1.0
    assert metrics["class_iou"] == [1.0, 1.0, None]
    text = json.dumps(metrics, allow_nan=False)
    assert json.loads(text)["class_iou"][2] is None


def test_empty_matrix_has_undefined_means():
    metrics = compute_metrics(np.zeros((2, 2), dtype=np.int64))
    assert metrics["miou"] is None and metrics["pa"] is None and metrics["fwiou"] is None


def test_hand_computed_example():
    # rows: ground truth, columns: prediction
    cm = np.array([[3, 1], [2, 4]])
    metrics = compute_metrics(cm)
    assert metrics["class_iou"] == pytest.approx([3 / 6, 4 / 7])
    assert metrics["class_acc"] == pytest.approx([3 / 4, 4 / 6])
    assert metrics["pa"] == pytest.approx(7 / 10)
    assert metrics["fwiou"] == pytest.approx(0.4 * 3 / 6 + 0.6 * 4 / 7)
    assert math.isclose(metrics["miou"], (3 / 6 + 4 / 7) / 2)


def test_format_table_lists_every_class_and_the_summary():
    metrics = compute_metrics(np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]]))
    table = format_table(metrics, ["sky", "road", "cat"])
    lines = table.splitlines()
    assert lines[0] == "mIoU 0.5357  PA 0.7000  MPA 0.7083  FWIoU 0.5429"
    assert any(line.startswith("road") and "0.5714" in line for line in lines)
    assert any(line.split()[:3] == ["cat", "-", "-"] for line in lines)
    with pytest.raises(ValueError):
        format_table(metrics, ["only-one"])


class OneHotEcho(nn.Layer):
    """Returns its input as logits and records the mode it ran in; a dropout child keeps its own flag."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, self.drop.training, paddle.is_grad_enabled()))
        return x


def one_hot_batches(rng, num_classes=3, batches=3):
    batches_out, preds, labels = [], [], []
    for _ in range(batches):
        pred = rng.integers(0, num_classes, size=(2, 5, 7))
        label = rng.integers(0, num_classes, size=(2, 5, 7))
        label[0, 0, :3] = IGNORE
        images = np.eye(num_classes, dtype="float32")[pred].transpose(0, 3, 1, 2)
        batches_out.append((paddle.to_tensor(images), paddle.to_tensor(label)))
        preds.append(pred)
        labels.append(label)
    return batches_out, preds, labels


def test_evaluate_scores_the_argmax_of_every_batch_in_eval_mode_without_grad(capsys):
    loader, preds, labels = one_hot_batches(np.random.default_rng(3))
    model = OneHotEcho()
    model.train()
    model.drop.eval()
    metrics = evaluate(model, loader, num_classes=3, progress=True)
    assert metrics["confusion_matrix"] == reference(preds, labels, 3)["confusion_matrix"]
    assert metrics["miou"] == pytest.approx(reference(preds, labels, 3)["miou"])
    assert model.seen == [(False, False, False)] * 3
    assert model.training and not model.drop.training
    assert capsys.readouterr().out == ""  # no progress bar when stdout is not a terminal


def test_evaluate_restores_modes_after_an_error():
    model = OneHotEcho()
    model.train()
    with pytest.raises(PaddleFCNError):
        evaluate(model, [(paddle.zeros([1, 3, 2, 2]), paddle.full([1, 2, 2], 9, dtype="int64"))], num_classes=3)
    assert model.training and model.drop.training


class FavoursClassZeroOnTheRight(nn.Layer):
    """Echoes its input plus a class-0 bonus growing with the column: changed by flips and crops."""

    def forward(self, x):
        bonus = 0.3 * paddle.arange(x.shape[3], dtype=x.dtype)
        return x + paddle.to_tensor([1.0, 0.0, 0.0]).reshape([1, 3, 1, 1]) * bonus


def test_evaluate_passes_inference_options_through():
    loader, _, labels = one_hot_batches(np.random.default_rng(4))
    options = {"mode": "slide", "crop_size": (4, 4), "stride": (2, 3), "flip": True, "scales": (1.0, 1.5)}
    model = FavoursClassZeroOnTheRight()
    preds = [predict_logits(model, images, **options).argmax(1).numpy() for images, _ in loader]
    plain = [model(images).argmax(1).numpy() for images, _ in loader]
    assert any((p != q).any() for p, q in zip(preds, plain))  # the options matter for this model
    metrics = evaluate(model, loader, 3, **options)
    assert metrics["confusion_matrix"] == reference(preds, labels, 3)["confusion_matrix"]


def test_evaluate_scores_labels_larger_than_the_images_at_the_labels_size():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((2, 3, 5, 7)).astype("float32")
    labels = rng.integers(0, 3, size=(2, 10, 13))
    labels[1, :2] = IGNORE
    # Independent reference: OpenCV's bilinear resize (pixel centres aligned, as align_corners=False) per image.
    preds = np.stack([cv2.resize(item.transpose(1, 2, 0), (13, 10), interpolation=cv2.INTER_LINEAR) for item in logits])
    preds = preds.argmax(axis=3)
    metrics = evaluate(OneHotEcho(), [(paddle.to_tensor(logits), paddle.to_tensor(labels))], num_classes=3)
    assert metrics["confusion_matrix"] == reference([preds], [labels], 3)["confusion_matrix"]


def test_progress_bar_draws_counts_in_place():
    stream = io.StringIO()
    bar = ProgressBar(4, stream, width=8)
    bar.step()
    bar.step()
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r[##......] 1/4") and "\r[####....] 2/4" in text and text.endswith("\n")


def test_save_metrics_writes_valid_json_with_null_for_undefined(tmp_path):
    metrics = compute_metrics(np.array([[2, 0], [0, 0]]))
    path = tmp_path / "out" / "metrics.json"
    save_metrics(path, metrics)
    loaded = json.loads(path.read_text())
    assert loaded == metrics and loaded["class_iou"] == [1.0, None]
