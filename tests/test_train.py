import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from train_hooks import InterruptAt, RecordLoss
from visualdl import LogReader

from paddlefcn import PaddleFCNError, load_config
from paddlefcn.data.resumable import build_train_loader
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.checkpoint import CheckpointManager
from paddlefcn.engine.trainer import Hook, Trainer
from paddlefcn.engine.training import train
from paddlefcn.utils import files

REPO = Path(__file__).resolve().parents[1]


def run(tmp_path, name, overrides=(), **kwargs):
    cfg = load_config(tmp_path / "tiny.yml", list(overrides))
    return train(cfg, tmp_path / name, logger=logging.getLogger(f"test.{name}"), **kwargs)


def state_of(path):
    return {k: v.numpy() for k, v in paddle.load(str(path)).items()}


def test_loss_decreases(tmp_path, tiny_config):
    record = RecordLoss()
    overrides = ["train.iters=24", "train.eval_interval=24", "train.save_interval=24", "lr.base=0.01"]
    trainer = run(tmp_path, "run", overrides, extra_hooks=[record])
    assert trainer.completed and trainer.iter == 24 and len(record.losses) == 24
    assert np.mean(record.losses[-4:]) < 0.7 * np.mean(record.losses[:4]), record.losses


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resumed_run_ends_like_an_uninterrupted_one(tmp_path, tiny_config, num_workers):
    overrides = [
        f"data.num_workers={num_workers}",
        "train.iters=6",
        "train.save_interval=3",
        "train.eval_interval=6",
        "data.train.transforms=[{type: RandomScale, min: 0.75, max: 1.25}, "
        "{type: RandomPaddingCrop, crop_size: 64}, {type: RandomHorizontalFlip}, {type: Normalize}]",
    ]
    straight, resumed = RecordLoss(), RecordLoss()
    run(tmp_path, "straight", overrides, extra_hooks=[straight])
    halfway = tmp_path / "straight" / "checkpoints" / "iter_3"
    trainer = run(tmp_path, "resumed", overrides, resume=str(halfway), extra_hooks=[resumed])
    assert trainer.iter == 6 and len(resumed.losses) == 3
    assert resumed.losses == pytest.approx(straight.losses[3:], rel=1e-5)
    a = state_of(tmp_path / "straight" / "checkpoints" / "iter_6" / "model.pdparams")
    b = state_of(tmp_path / "resumed" / "checkpoints" / "iter_6" / "model.pdparams")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_checkpoints_latest_best_and_pruning(tmp_path, tiny_config):
    trainer = run(
        tmp_path,
        "run",
        ["train.iters=5", "train.save_interval=1", "train.eval_interval=1", "train.keep_checkpoints=2", "lr.base=0.05"],
    )
    root = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["iter_4", "iter_5", "latest"]
    assert (root / "latest").read_text().strip() == "iter_5"
    for name in ("model.pdparams", "optim.pdopt", "state.json", "trainer.pkl"):
        assert (root / "iter_5" / name).is_file()
    state = json.loads((root / "iter_5" / "state.json").read_text())
    assert state["iter"] == 5
    best = json.loads((tmp_path / "run" / "best" / "state.json").read_text())
    assert state["hooks"]["CheckpointHook"] == {"best_miou": best["miou"], "best_iter": best["iter"]}
    reader = LogReader(file_path=str(next((tmp_path / "run" / "vdl").glob("vdlrecords.*"))))
    evals = {r.id: r.value for r in reader.get_data("scalar", "Eval/mIoU")}
    assert sorted(evals) == [1, 2, 3, 4, 5]
    first_best = max(evals, key=lambda i: (evals[i], -i))
    assert best["iter"] == first_best and best["miou"] == pytest.approx(evals[first_best], abs=1e-6)
    assert trainer.last_eval.iter == 5 and trainer.last_eval.metrics["miou"] == pytest.approx(evals[5], abs=1e-6)
    assert not [p for p in (tmp_path / "run").rglob("*") if ".tmp" in p.name or ".old" in p.name]
    assert CheckpointManager(tmp_path / "run").latest() == root / "iter_5"
    assert load_config(tmp_path / "run" / "config.yml")["train"]["keep_checkpoints"] == 2


class SeesEvaluation(Hook):
    """Records, after each step, the evaluation result it can read then."""

    def __init__(self):
        self.seen = []

    def after_step(self, trainer):
        self.seen.append(None if trainer.last_eval is None else trainer.last_eval.iter)


def test_hook_order_does_not_decide_what_hooks_see_or_save(tmp_path, tiny_config, monkeypatch):
    overrides = ["train.iters=4", "train.save_interval=2", "train.eval_interval=2"]
    first, last = SeesEvaluation(), SeesEvaluation()
    real_hooks = Builder.hooks
    monkeypatch.setattr(Builder, "hooks", lambda self, *args: [first, *reversed(real_hooks(self, *args))])
    trainer = run(tmp_path, "run", overrides, extra_hooks=[last])
    assert first.seen == last.seen == [None, 2, 2, 4]  # the evaluation of a step is there before any hook runs
    state = json.loads((tmp_path / "run" / "checkpoints" / "iter_4" / "state.json").read_text())
    best = json.loads((tmp_path / "run" / "best" / "state.json").read_text())
    assert state["hooks"]["CheckpointHook"] == {"best_miou": best["miou"], "best_iter": best["iter"]}
    assert trainer.last_eval.iter == 4


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names synced files through /proc")
def test_checkpoint_files_reach_the_disk_before_they_are_renamed_into_place(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def record(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    model = paddle.nn.Conv2D(3, 2, 1)
    optimizer = paddle.optimizer.Momentum(0.1, parameters=model.parameters())
    CheckpointManager(tmp_path).save(7, model, optimizer, {}, {"rng": 1})
    staged = {Path(p).name for p in synced if ".iter_7.tmp-" in p}
    assert {"model.pdparams", "optim.pdopt", "state.json", "trainer.pkl"} <= staged
    assert str(tmp_path / "checkpoints") in synced  # the rename itself


CRASH_BETWEEN_RENAMES = """
import os, sys
import paddle
from paddlefcn.engine import checkpoint

manager = checkpoint.CheckpointManager(sys.argv[1])
model = paddle.nn.Conv2D(3, 2, 1)
manager.save_best(model, 10, {"miou": 0.1})
real_replace = os.replace

def crash_on_publish(src, dst):
    if ".tmp-" in str(src):
        os._exit(3)  # killed after best/ was moved aside, before the new one took its place
    real_replace(src, dst)

checkpoint.os.replace = crash_on_publish
manager.save_best(model, 20, {"miou": 0.2})
"""


def test_a_crash_while_best_is_replaced_is_repaired_by_the_next_run(tmp_path):
    crashed = subprocess.run([sys.executable, "-c", CRASH_BETWEEN_RENAMES, str(tmp_path)], capture_output=True)
    assert crashed.returncode == 3, crashed.stderr.decode()
    assert not (tmp_path / "best").exists()
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == [".best.old", ".best.tmp"]
    CheckpointManager(tmp_path).latest()  # a query changes nothing
    assert len(list(tmp_path.iterdir())) == 2
    CheckpointManager(tmp_path).repair()
    assert [p.name for p in tmp_path.iterdir()] == ["best"]
    assert json.loads((tmp_path / "best" / "state.json").read_text())["iter"] == 20  # the new best was complete
    assert (tmp_path / "best" / "model.pdparams").is_file()


def _stopped_pid() -> int:
    """The process id of a process that has exited."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)


def _leftover(directory: Path, iteration: int) -> None:
    """A checkpoint-like directory whose ``state.json`` names ``iteration``."""
    directory.mkdir(parents=True)
    (directory / "state.json").write_text(json.dumps({"iter": iteration}))


def test_leftovers_of_stopped_writers_are_resolved_and_running_ones_kept(tmp_path):
    dead = _stopped_pid()
    _leftover(tmp_path / "best", 30)
    _leftover(tmp_path / f".best.tmp-{dead}", 40)  # crashed while writing: incomplete, dropped
    _leftover(tmp_path / "checkpoints" / f".iter_8.old-{dead}", 8)  # only the previous copy remains
    _leftover(tmp_path / "checkpoints" / f".iter_9.tmp-{os.getppid()}", 9)  # a running writer's
    CheckpointManager(tmp_path).repair()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "checkpoints"]
    assert json.loads((tmp_path / "best" / "state.json").read_text())["iter"] == 30
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [f".iter_9.tmp-{os.getppid()}", "iter_8"]


def test_repairing_tolerates_another_rank_repairing_at_the_same_time(tmp_path, monkeypatch):
    dead = _stopped_pid()
    _leftover(tmp_path / f".best.tmp-{dead}", 40)
    _leftover(tmp_path / f".best.old-{dead}", 30)
    real_replace = os.replace

    def another_rank_was_faster(src, dst):
        real_replace(src, dst)  # the other rank's rename...
        raise FileNotFoundError(src)  # ...so this one finds its source gone

    monkeypatch.setattr(files.os, "replace", another_rank_was_faster)
    files.finish_interrupted_writes(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["best"]
    assert json.loads((tmp_path / "best" / "state.json").read_text())["iter"] == 40


def test_visualdl_records_scalars_and_images(tmp_path, tiny_config):
    run(tmp_path, "run")
    reader = LogReader(file_path=str(next((tmp_path / "run" / "vdl").glob("vdlrecords.*"))))
    tags = reader.get_tags()
    for tag in (
        "Train/loss",
        "Train/lr",
        "Train/ips",
        "Eval/mIoU",
        "Eval/PA",
        "Eval/MPA",
        "Eval/FWIoU",
        "Eval/IoU/background",
    ):
        assert tag in tags["scalar"], tag
    assert [r.id for r in reader.get_data("scalar", "Train/loss")] == [1, 2, 3, 4]
    lrs = {r.id: r.value for r in reader.get_data("scalar", "Train/lr")}
    assert lrs[1] == pytest.approx(0.002) and lrs[2] == pytest.approx(0.02)  # warm-up start, then lr.base
    assert {"Eval/confusion_matrix", "Eval/sample_0", "Eval/sample_1"} <= set(tags["image"])
    assert len(reader.get_data("image", "Eval/sample_0")) == 2


def test_ctrl_c_saves_a_checkpoint_and_resume_auto_continues(tmp_path, tiny_config):
    trainer = run(tmp_path, "run", ["train.save_interval=100"], extra_hooks=[InterruptAt(3)])
    assert trainer.completed is False and trainer.iter == 3
    assert (tmp_path / "run" / "checkpoints" / "latest").read_text().strip() == "iter_3"
    resumed = run(tmp_path, "run", ["train.save_interval=100"], resume="auto")
    assert resumed.completed and resumed.iter == 4
    fresh = run(tmp_path, "fresh", resume="auto")
    assert fresh.iter == 4


def test_train_seed_from_the_config_is_used_and_recorded(tmp_path, tiny_config):
    by_config, by_argument = RecordLoss(), RecordLoss()
    run(tmp_path, "config", ["train.iters=2", "train.seed=3"], extra_hooks=[by_config])
    run(tmp_path, "argument", ["train.iters=2"], seed=3, extra_hooks=[by_argument])
    assert by_config.losses == pytest.approx(by_argument.losses, rel=1e-6)
    for name in ("config", "argument"):
        recorded = load_config(tmp_path / name / "config.yml")["train"]
        assert (recorded["seed"], recorded["amp"]) == (3, False)
    default = RecordLoss()
    run(tmp_path, "default", ["train.iters=2"], extra_hooks=[default])
    assert default.losses != pytest.approx(by_config.losses, rel=1e-6)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.max_bad_steps=0", "train.max_bad_steps must be an integer >= 1, got 0"),
        ("train.vis_images='4'", "train.vis_images must be an integer >= 0, got '4'"),
        ("train.seed=-1", "train.seed must be an integer >= 0, got -1"),
        ("train.amp=1", "train.amp must be true or false, got 1"),
        ("data.num_workers=two", "data.num_workers must be an integer >= 0, got 'two'"),
        ("eval.batch_size=0", "eval.batch_size must be an integer >= 1, got 0"),
        ("lr.base=null", "lr.base must be a positive number, got None"),
        ("lr.warmup_iters=1.5", "lr.warmup_iters must be an integer >= 0, got 1.5"),
        ("optimizer.grad_clip=0", "optimizer.grad_clip must be a positive number, got 0"),
        ("optimizer.momentun=0.9", "unknown config key 'optimizer.momentun' (known here: grad_clip, momentum,"),
        ("lr.bse=0.1", "unknown config key 'lr.bse' (known here: base, end, power, type, warmup_iters, warmup_start)"),
        ("loss.weight=[1, 2]", "loss.weight must list one weight for each of the 7 classes, got [1, 2]"),
        ("loss.weight=abc", "loss.weight: unknown class weighting 'abc' (known: median_frequency, inverse_log, or"),
        ("loss.weight=7", "loss.weight must list one weight for each of the 7 classes, got 7"),
        ("loss.weight=[1, 1, 1, x, 1, 1, 1]", "loss.weight[3] must be a number, got 'x'"),
        ("loss.weight=[1, 1, 1, -1, 1, 1, 1]", "loss.weight must be non-negative and not all 0"),
        ("data.train=null", "required key 'data.train' is null"),
    ],
)
def test_bad_training_values_name_their_key(tmp_path, tiny_config, override, message):
    with pytest.raises(PaddleFCNError, match=re.escape(message)):
        run(tmp_path, "run", [override])
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_new_run_refuses_a_directory_with_checkpoints_of_an_earlier_one(tmp_path, tiny_config):
    run(tmp_path, "run", ["train.iters=2"])
    shutil.rmtree(tmp_path / "synthetic")
    with pytest.raises(PaddleFCNError, match=r"holds checkpoints of an earlier run \(up to iter_2\).*--resume auto"):
        run(tmp_path, "run", ["train.iters=2"])
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["iter_2", "latest"]
    assert not (tmp_path / "synthetic").exists(), "the refused run built the datasets before refusing"


def test_resuming_with_another_batch_size_warns(tmp_path, tiny_config, caplog):
    run(tmp_path, "run", ["train.iters=2"])
    with caplog.at_level(logging.WARNING, logger="test.run"):
        trainer = run(tmp_path, "run", ["train.iters=3", "train.batch_size=1"], resume="auto")
    assert trainer.completed and trainer.iter == 3
    assert "trained with 2 images per iteration, this run uses 1" in caplog.text


def test_resuming_into_another_model_is_refused(tmp_path, tiny_config):
    run(tmp_path, "run", ["train.iters=2"])
    with pytest.raises(PaddleFCNError, match=r"iter_2/model.pdparams: \d+ weights do not belong to the model"):
        run(tmp_path, "run", ["train.iters=4", "model.head.type=FCN16s"], resume="auto")


@pytest.mark.parametrize(("name", "content"), [("state.json", "{not json"), ("trainer.pkl", "not a pickle")])
def test_a_corrupt_checkpoint_file_is_named(tmp_path, tiny_config, name, content):
    run(tmp_path, "run", ["train.iters=2"])
    (tmp_path / "run" / "checkpoints" / "iter_2" / name).write_text(content)
    with pytest.raises(PaddleFCNError, match=f"^cannot resume from .*iter_2/{re.escape(name)}: "):
        run(tmp_path, "run", ["train.iters=4"], resume="auto")


class CorruptTrainingImages(Hook):
    """Overwrites every training image with bytes that are not an image once ``iteration`` is done."""

    def __init__(self, iteration, data_root):
        self.iteration = iteration
        self.data_root = data_root

    def after_step(self, trainer):
        if trainer.iter == self.iteration:
            for path in self.data_root.glob("train-*/JPEGImages/*.jpg"):
                path.write_bytes(b"not an image")


@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_bad_file_mid_training_names_it_and_keeps_the_work_done(tmp_path, tiny_config, num_workers):
    corrupt = CorruptTrainingImages(2, tmp_path / "synthetic")
    overrides = ["train.iters=30", "train.save_interval=100", "train.eval_interval=100"]
    overrides.append(f"data.num_workers={num_workers}")
    with pytest.raises(PaddleFCNError, match=r"train_\d+\.jpg: cannot decode image"):
        run(tmp_path, "run", overrides, extra_hooks=[corrupt])
    latest = CheckpointManager(tmp_path / "run").latest()
    assert latest is not None and json.loads((latest / "state.json").read_text())["iter"] >= 2


class InterruptDuringLoss(paddle.nn.Layer):
    """Cross-entropy that sends this process Ctrl-C (SIGINT) while computing the loss of step ``at``."""

    def __init__(self, at):
        super().__init__()
        self.at = at
        self.calls = 0

    def forward(self, logits, labels):
        self.calls += 1
        if self.calls == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return paddle.nn.functional.cross_entropy(logits, labels[:, None], axis=1)


@pytest.fixture
def sigint_handler():
    """Sets this process's SIGINT handler for the test and restores the one it had.

    A process started as a background job of a non-interactive shell (``cmd &``, ``nohup``) begins with SIGINT
    ignored, so tests that send Ctrl-C choose the handler they need instead of inheriting it.
    """
    previous = signal.getsignal(signal.SIGINT)
    yield lambda handler: signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGINT, previous)


def interrupted_run() -> tuple[Trainer, paddle.optimizer.lr.LRScheduler, bool]:
    """A 5-step trainer whose loss sends Ctrl-C during step 2; returns it, its schedule and ``run()``'s result."""
    model = paddle.nn.Conv2D(3, 2, 1)
    lr = paddle.optimizer.lr.PolynomialDecay(0.1, 10)
    optimizer = paddle.optimizer.Momentum(lr, parameters=model.parameters())
    samples = [(np.random.rand(3, 4, 4).astype("float32"), np.zeros((4, 4), dtype="int64"))] * 4
    loader = build_train_loader(samples, batch_size=1)
    trainer = Trainer(model, loader, InterruptDuringLoss(at=2), optimizer, lr, 5, [], logging.getLogger("sigint"))
    return trainer, lr, trainer.run()


def test_ctrl_c_during_a_step_stops_after_the_whole_step(sigint_handler):
    sigint_handler(signal.default_int_handler)  # Python's own: Ctrl-C raises KeyboardInterrupt
    trainer, lr, completed = interrupted_run()
    assert completed is False
    assert trainer.iter == 2 and lr.last_epoch == 2  # the interrupted step finished, weights and schedule agree


def test_ctrl_c_is_ignored_when_the_process_ignores_it(sigint_handler):
    sigint_handler(signal.SIG_IGN)
    trainer, lr, completed = interrupted_run()
    assert completed is True and trainer.iter == 5 and lr.last_epoch == 5
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # the trainer left the process's choice alone


class NanLoss(paddle.nn.Layer):
    def forward(self, logits, labels):
        return logits.mean() * float("nan")


def test_nan_losses_are_skipped_then_training_stops(tmp_path):
    model = paddle.nn.Conv2D(3, 2, 1)
    before = model.weight.numpy().copy()
    lr = paddle.optimizer.lr.PolynomialDecay(0.1, 10)
    optimizer = paddle.optimizer.Momentum(lr, parameters=model.parameters())
    loader = [(paddle.randn([1, 3, 4, 4]), paddle.zeros([1, 4, 4], dtype="int64"))]
    trainer = Trainer(model, loader, NanLoss(), optimizer, lr, 10, [], logging.getLogger("nan"), max_bad_steps=3)
    images, labels = loader[0]
    assert trainer.step(images, labels) is None and trainer.skipped_steps == 1
    np.testing.assert_array_equal(model.weight.numpy(), before)
    trainer.step(images, labels)
    with pytest.raises(PaddleFCNError, match="loss was NaN/inf for 3 iterations in a row"):
        trainer.step(images, labels)


def test_amp_step_uses_bfloat16_on_cpu_or_says_it_cannot(tmp_path, tiny_config, caplog):
    record = RecordLoss()
    logger = logging.getLogger("test.amp")
    cfg = load_config(tiny_config(), ["train.iters=2", "lr.warmup_iters=0"])
    with caplog.at_level(logging.WARNING, logger="test.amp"):
        trainer = train(cfg, tmp_path / "run", amp=True, logger=logger, extra_hooks=[record])
    on_gpu = paddle.device.get_device().startswith("gpu")
    assert trainer.amp == ("float16" if on_gpu else "bfloat16")
    assert trainer.completed and len(record.losses) == 2 and all(np.isfinite(record.losses))
    if trainer.amp_effective():
        with trainer._autocast():
            assert trainer.model(paddle.randn([1, 3, 64, 64])).dtype in (paddle.bfloat16, paddle.float16)
    else:
        assert "does not autocast to bfloat16" in caplog.text and "trains in float32" in caplog.text


def test_two_process_data_parallel_run_on_cpu(tmp_path, tiny_config):
    cfg = tiny_config(iters=2, eval_interval=2, save_interval=2)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "paddle.distributed.launch",
        "--nproc_per_node",
        "2",
        "--log_dir",
        str(tmp_path / "launch"),
        str(REPO / "tools" / "train.py"),
        "-c",
        str(cfg),
        "--save-dir",
        str(tmp_path / "run"),
    ]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    log = (tmp_path / "run" / "train.log").read_text()
    assert "on 2 process(es), 4 images per iteration" in log
    assert (tmp_path / "run" / "checkpoints" / "iter_2" / "model.pdparams").is_file()
    assert "eval at iter 2" in log and "[rank 1]" not in log
