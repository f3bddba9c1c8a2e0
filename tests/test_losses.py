"""DiceLoss and LovaszSoftmaxLoss against plain NumPy versions of their formulas; training signal; empty batches."""

import numpy as np
import paddle
import pytest

from paddlefcn import LOSSES, PaddleFCNError
from paddlefcn.models.losses import CrossEntropyLoss, DiceLoss, LovaszSoftmaxLoss

# (classes, ignore value): CamVid-like (ignore just past the last class, where one_hot would reach) and VOC-like.
IGNORES = [(3, 3), (3, 255)]


def random_batch(seed: int, num_classes: int, ignore: int, shape=(2, 5, 6)) -> tuple[np.ndarray, np.ndarray]:
    """Float32 logits ``[N, C, H, W]`` and int64 labels with about a fifth of the pixels ignored."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (shape[0], num_classes, *shape[1:])).astype("float32")
    labels = rng.integers(0, num_classes, shape)
    labels[rng.random(shape) < 0.2] = ignore
    return logits, labels


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits.astype(np.float64) - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def loss_of(loss_fn, logits: np.ndarray, labels: np.ndarray) -> float:
    return float(loss_fn(paddle.to_tensor(logits), paddle.to_tensor(labels)))


def numpy_dice(logits, labels, ignore, smooth=1.0, weight=None) -> float:
    probs = softmax(logits)
    scored = labels != ignore
    terms = []
    for c in range(probs.shape[1]):
        p, y = probs[:, c][scored], (labels[scored] == c).astype(np.float64)
        terms.append(1 - (2 * (p * y).sum() + smooth) / (p.sum() + y.sum() + smooth))
    w = np.ones(len(terms)) if weight is None else np.asarray(weight, np.float64)
    return float((w * np.array(terms)).sum() / w.sum())


def jaccard_set_loss(mispredicted: np.ndarray, truth: np.ndarray) -> float:
    """The paper's set function ``|M| / |{y = c} U M|`` for a set ``M`` of mispredicted pixels (boolean masks)."""
    return mispredicted.sum() / (truth | mispredicted).sum()


def lovasz_by_thresholds(errors: np.ndarray, truth: np.ndarray) -> float:
    """The Lovász extension as the integral over t of the set function at ``{i : errors_i >= t}``, exactly."""
    levels = np.concatenate([[0.0], np.unique(errors[errors > 0])])
    return sum((hi - lo) * jaccard_set_loss(errors >= hi, truth) for lo, hi in zip(levels[:-1], levels[1:]))


def numpy_lovasz_group(probs: np.ndarray, labels: np.ndarray, classes: str) -> float:
    """Lovász-Softmax of flat scored pixels: ``probs [C, P]``, ``labels [P]``."""
    values = []
    for c in range(probs.shape[0]):
        truth = labels == c
        if classes == "present" and not truth.any():
            continue
        values.append(lovasz_by_thresholds(np.abs(truth - probs[c]), truth))
    return float(np.mean(values)) if values else 0.0


def numpy_lovasz(logits, labels, ignore, classes="present", per_image=False) -> float:
    probs = softmax(logits)
    if not per_image:
        scored = labels != ignore
        return numpy_lovasz_group(probs.transpose(1, 0, 2, 3)[:, scored], labels[scored], classes)
    images = [(p[:, lab != ignore], lab[lab != ignore]) for p, lab in zip(probs, labels)]
    return float(np.mean([numpy_lovasz_group(p, lab, classes) for p, lab in images if lab.size]))


def test_the_threshold_integral_is_the_sorted_errors_formula_of_the_paper():
    # A hand-checked case: errors 0.9 (positive), 0.5 (negative), 0.2 (positive); P = 2.
    errors, truth = np.array([0.2, 0.9, 0.5]), np.array([True, True, False])
    jaccard = [1 - 1 / 2, 1 - 1 / 3, 1 - 0 / 3]  # after the 1st, 2nd, 3rd largest error
    expected = 0.9 * jaccard[0] + 0.5 * (jaccard[1] - jaccard[0]) + 0.2 * (jaccard[2] - jaccard[1])
    assert lovasz_by_thresholds(errors, truth) == pytest.approx(expected)


def test_the_losses_are_registered_and_build_from_a_config():
    assert {"CrossEntropyLoss", "DiceLoss", "LovaszSoftmaxLoss"} <= set(LOSSES.names())
    assert isinstance(LOSSES.build({"type": "DiceLoss", "ignore_index": 11, "smooth": 0.5}), DiceLoss)
    lovasz = LOSSES.build({"type": "LovaszSoftmaxLoss", "ignore_index": 11, "classes": "all", "per_image": True})
    assert (lovasz.ignore_index, lovasz.classes, lovasz.per_image) == (11, "all", True)
    with pytest.raises(PaddleFCNError, match="classes must be 'present' or 'all', got 'some'"):
        LovaszSoftmaxLoss(classes="some")


@pytest.mark.parametrize("num_classes, ignore", IGNORES)
@pytest.mark.parametrize("smooth, weight", [(1.0, None), (0.0, None), (0.5, [0.2, 1.0, 3.0])])
def test_dice_matches_numpy(num_classes, ignore, smooth, weight):
    logits, labels = random_batch(0, num_classes, ignore)
    loss = loss_of(DiceLoss(ignore_index=ignore, smooth=smooth, weight=weight), logits, labels)
    assert loss == pytest.approx(numpy_dice(logits, labels, ignore, smooth, weight), rel=1e-5)


@pytest.mark.parametrize("num_classes, ignore", IGNORES)
@pytest.mark.parametrize("classes", ["present", "all"])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_matches_numpy(num_classes, ignore, classes, per_image):
    logits, labels = random_batch(1, num_classes, ignore, shape=(3, 4, 5))
    labels[0][labels[0] == 1] = 0  # class 1 absent from image 0: "present" and "all" differ per image
    labels[1] = ignore  # an image without a scored pixel: left out of the per-image average
    loss_fn = LovaszSoftmaxLoss(ignore_index=ignore, classes=classes, per_image=per_image)
    loss = loss_of(loss_fn, logits, labels)
    assert loss == pytest.approx(numpy_lovasz(logits, labels, ignore, classes, per_image), rel=1e-5)


def test_lovasz_all_classes_also_scores_a_class_absent_from_the_labels():
    logits, labels = random_batch(2, 3, 255)
    labels[labels == 2] = 0
    present = loss_of(LovaszSoftmaxLoss(classes="present"), logits, labels)
    every = loss_of(LovaszSoftmaxLoss(classes="all"), logits, labels)
    # An absent class adds its largest probability (all its pixels are false positives): the loss of "all" is
    # (2 * present + max p_2) / 3.
    max_p2 = softmax(logits)[:, 2][labels != 255].max()
    assert every == pytest.approx((2 * present + max_p2) / 3, rel=1e-5) and every != pytest.approx(present)


@pytest.mark.parametrize("num_classes, ignore", IGNORES)
@pytest.mark.parametrize(
    "loss_fn",
    [DiceLoss, LovaszSoftmaxLoss, lambda ignore_index: LovaszSoftmaxLoss(ignore_index, per_image=True)],
    ids=["dice", "lovasz", "lovasz_per_image"],
)
def test_logits_at_ignored_pixels_change_nothing(num_classes, ignore, loss_fn):
    logits, labels = random_batch(3, num_classes, ignore)
    changed = logits.copy()
    changed[np.broadcast_to((labels == ignore)[:, None], logits.shape)] = 50.0
    loss = loss_fn(ignore_index=ignore)
    assert loss_of(loss, changed, labels) == pytest.approx(loss_of(loss, logits, labels), rel=1e-6)
    assert loss_of(loss, logits, labels) > 0.05


@pytest.mark.parametrize(
    "loss_fn",
    [DiceLoss(), LovaszSoftmaxLoss(), LovaszSoftmaxLoss(classes="all", per_image=True)],
    ids=["dice", "lovasz", "lovasz_all_per_image"],
)
def test_confident_correct_predictions_give_almost_zero(loss_fn):
    _, labels = random_batch(4, 3, 255)
    logits = 30.0 * np.eye(3, dtype="float32")[np.where(labels == 255, 0, labels)].transpose(0, 3, 1, 2)
    assert loss_of(loss_fn, logits, labels) < 1e-6


@pytest.mark.parametrize(
    "loss_fn",
    [
        CrossEntropyLoss(ignore_index=3),
        DiceLoss(ignore_index=3),
        LovaszSoftmaxLoss(ignore_index=3),
        LovaszSoftmaxLoss(ignore_index=3, classes="all", per_image=True),
    ],
    ids=["cross_entropy", "dice", "lovasz", "lovasz_all_per_image"],
)
def test_sgd_on_free_logits_lowers_the_loss(loss_fn):
    start, labels = random_batch(5, 3, 3)
    logits = paddle.create_parameter(start.shape, "float32", default_initializer=paddle.nn.initializer.Assign(start))
    optimizer = paddle.optimizer.SGD(learning_rate=200.0, parameters=[logits])
    labels = paddle.to_tensor(labels)
    losses = []
    for _ in range(5):
        loss = loss_fn(logits, labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        losses.append(float(loss))
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 0.6 * losses[0], losses


@pytest.mark.parametrize(
    "loss_fn",
    [
        DiceLoss(ignore_index=3),
        DiceLoss(ignore_index=3, smooth=0.0),
        LovaszSoftmaxLoss(ignore_index=3),
        LovaszSoftmaxLoss(ignore_index=3, classes="all"),
        LovaszSoftmaxLoss(ignore_index=3, classes="all", per_image=True),
    ],
    ids=["dice", "dice_smooth_0", "lovasz", "lovasz_all", "lovasz_all_per_image"],
)
def test_a_batch_without_a_scored_pixel_gives_zero_and_a_finite_gradient(loss_fn):
    logits = paddle.to_tensor(np.random.default_rng(6).normal(size=(2, 3, 4, 4)).astype("float32"))
    logits.stop_gradient = False
    loss = loss_fn(logits, paddle.full([2, 4, 4], 3, dtype="int64"))
    loss.backward()
    assert float(loss) == 0.0 and logits.grad is not None and np.isfinite(logits.grad.numpy()).all()


@pytest.mark.parametrize("loss_fn", [DiceLoss(), LovaszSoftmaxLoss()], ids=["dice", "lovasz"])
def test_half_precision_logits_are_scored_in_float32(loss_fn):
    logits, labels = random_batch(7, 3, 255)
    half = paddle.to_tensor(logits).astype("bfloat16")
    loss = loss_fn(half, paddle.to_tensor(labels))
    assert loss.dtype == paddle.float32 and loss.shape == []
    assert float(loss) == pytest.approx(loss_of(loss_fn, half.astype("float32").numpy(), labels), rel=1e-6)


# --- OHEM cross-entropy -----------------------------------------------------------------------------------


def numpy_ohem(logits, labels, ignore, thresh, min_kept, weight=None):
    """The kept mask and the loss of OHEM cross-entropy, from the definition."""
    probs = softmax(logits)
    scored = labels != ignore
    safe = np.where(scored, labels, 0)
    true_prob = np.take_along_axis(probs, safe[:, None], axis=1)[:, 0]
    threshold = thresh
    valid = np.sort(true_prob[scored])
    if min_kept > 0 and valid.size:
        threshold = max(thresh, valid[min(min_kept, valid.size - 1)])
    kept = scored & (true_prob < threshold)
    if not kept.any():
        return kept, 0.0
    w = np.ones(probs.shape[1]) if weight is None else np.asarray(weight, np.float64)
    ce = -np.log(true_prob[kept])
    return kept, float((w[labels[kept]] * ce).sum() / w[labels[kept]].sum())


@pytest.mark.parametrize(("num_classes", "ignore"), IGNORES)
@pytest.mark.parametrize(("thresh", "min_kept"), [(0.7, 0), (0.7, 5), (0.3, 20), (0.99, 1000), (0.05, 0)])
@pytest.mark.parametrize("weighted", [False, True])
def test_ohem_keeps_the_pixels_and_gives_the_loss_of_its_definition(num_classes, ignore, thresh, min_kept, weighted):
    logits, labels = random_batch(7, num_classes, ignore, shape=(2, 9, 11))
    weight = [0.5, 2.0, 1.25][:num_classes] if weighted else None
    options = {"ignore_index": ignore, "thresh": thresh, "min_kept": min_kept, "weight": weight}
    loss_fn = LOSSES.build({"type": "OhemCrossEntropyLoss", **options})
    expected_kept, expected = numpy_ohem(logits, labels, ignore, thresh, min_kept, weight)
    kept = loss_fn.hard_pixels(paddle.to_tensor(logits), paddle.to_tensor(labels)).numpy()
    np.testing.assert_array_equal(kept, expected_kept)
    assert loss_of(loss_fn, logits, labels) == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_ohem_min_kept_keeps_the_hardest_pixels_even_when_the_model_is_sure():
    logits = np.zeros((1, 2, 2, 3), dtype="float32")
    logits[0, 0] = [[9, 8, 7], [6, 5, 4]]  # class 0 is sure everywhere, surest on the left
    labels = np.zeros((1, 2, 3), dtype="int64")
    loss_fn = LOSSES.build({"type": "OhemCrossEntropyLoss", "ignore_index": 255, "thresh": 0.7, "min_kept": 2})
    kept = loss_fn.hard_pixels(paddle.to_tensor(logits), paddle.to_tensor(labels)).numpy()
    np.testing.assert_array_equal(kept, [[[False, False, False], [False, True, True]]])


def test_ohem_without_a_hard_or_scored_pixel_is_zero():
    logits, labels = random_batch(3, 3, 255)
    everything_ignored = np.full_like(labels, 255)
    loss_fn = LOSSES.build({"type": "OhemCrossEntropyLoss", "ignore_index": 255, "min_kept": 0, "thresh": 1e-9})
    assert loss_of(loss_fn, logits, labels) == 0.0
    assert loss_of(LOSSES.build({"type": "OhemCrossEntropyLoss"}), logits, everything_ignored) == 0.0


@pytest.mark.parametrize(
    ("options", "message"),
    [({"thresh": 0}, "thresh must be a positive number"), ({"min_kept": -1}, "min_kept must be an integer >= 0")],
)
def test_ohem_bad_options_are_config_errors(options, message):
    with pytest.raises(PaddleFCNError, match=message):
        LOSSES.build({"type": "OhemCrossEntropyLoss", **options})
