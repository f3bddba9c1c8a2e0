"""Training for a wall-clock budget: the plan, the measured run, the count written to config.yml, resume."""

import logging

import numpy as np
import pytest
from tool_helpers import run_subprocess
from train_hooks import InterruptAt, RecordLoss

from paddlefcn import load_config
from paddlefcn.engine import time_budget
from paddlefcn.engine.time_budget import RunCosts, plan_iterations
from paddlefcn.engine.training import train
from paddlefcn.errors import ConfigError
from paddlefcn.settings import duration_check, interval_steps


def run(tmp_path, name, overrides=(), **kwargs):
    cfg = load_config(tmp_path / "tiny.yml", list(overrides))
    return train(cfg, tmp_path / name, logger=logging.getLogger(f"test.{name}"), **kwargs)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("25m", 1500), ("1.5h", 5400), (30, 30), ("2M", 120)])
def test_durations(text, seconds):
    assert duration_check(text, "train.time_budget") == seconds


@pytest.mark.parametrize("text", ["soon", "-5m", "0", "m", True, "1e999h"])
def test_bad_durations_name_the_key(text):
    with pytest.raises(ConfigError, match="train.time_budget must be a duration such as 90s, 25m or 1.5h"):
        duration_check(text, "train.time_budget")


def test_fractional_intervals():
    assert interval_steps(0.25, 1000) == 250 and interval_steps(0.3, 7) == 2 and interval_steps(0.01, 10) == 1
    assert interval_steps(40, 1000) == 40


def brute_force(seconds, costs, eval_interval, save_interval, warmup):
    usable = seconds * (1 - time_budget.MARGIN)
    best = None
    for iters in range(warmup + 1, 10_000):
        evals = -(-iters // interval_steps(eval_interval, iters))
        saves = -(-iters // interval_steps(save_interval, iters))
        if iters * costs.step + evals * costs.evaluation + saves * costs.checkpoint <= usable:
            best = iters
    return best


@pytest.mark.parametrize(("eval_interval", "save_interval"), [(0.25, 0.5), (100, 250), (1.0, 1.0), (0.1, 37)])
def test_the_plan_is_the_most_iterations_that_fit(eval_interval, save_interval):
    costs = RunCosts(step=1.3, evaluation=25.0, checkpoint=0.8)
    planned = plan_iterations(1500, costs, eval_interval, save_interval, 50, "25m")
    assert planned == brute_force(1500, costs, eval_interval, save_interval, 50)
    assert 900 < planned < 1150


def test_a_budget_too_small_for_the_warmup_and_one_evaluation_is_one_line_with_the_numbers():
    costs = RunCosts(step=2.0, evaluation=30.0, checkpoint=1.0)
    message = (
        r"train.time_budget 2m is too small: 100 s remain for training, but the shortest run, the warm-up and one "
        r"more iteration \(51 at 2.00 s\) with 2 evaluation\(s\) \(30.0 s each\) and 2 checkpoint\(s\) "
        r"\(1.0 s each\), needs 169 s"
    )
    with pytest.raises(ConfigError, match=message):
        plan_iterations(100, costs, 0.5, 0.5, 50, "2m")


@pytest.fixture
def fake_costs(monkeypatch):
    """Every measurement reports these costs and no time passes, so the plan is known in advance."""
    costs = {"value": RunCosts(step=0.5, evaluation=1.0, checkpoint=0.2)}
    monkeypatch.setattr(time_budget, "clock", lambda: 0.0)
    monkeypatch.setattr(time_budget, "measure_costs", lambda *args: costs["value"])
    return costs


def test_a_budget_fixes_train_iters_in_config_yml_and_resume_keeps_the_count(tmp_path, tiny_config, fake_costs):
    tiny_config(iters=1000, eval_interval=0.5, save_interval=0.5)
    expected = plan_iterations(6, fake_costs["value"], 0.5, 0.5, 1, "6s")
    assert expected == 6
    straight = RecordLoss()
    trainer = run(tmp_path, "straight", time_budget="6s", extra_hooks=[straight])
    assert trainer.completed and trainer.iter == expected and straight.evaluated == [3, 6]
    saved = load_config(tmp_path / "straight" / "config.yml")["train"]
    assert saved["iters"] == expected and saved["time_budget"] == "6s"

    assert not run(tmp_path, "resumed", time_budget="6s", extra_hooks=[InterruptAt(3)]).completed
    fake_costs["value"] = RunCosts(step=0.05, evaluation=0.1, checkpoint=0.1)  # would buy far more iterations now
    resumed = RecordLoss()
    trainer = run(tmp_path, "resumed", time_budget="6s", resume="auto", extra_hooks=[resumed])
    assert trainer.iter == expected and load_config(tmp_path / "resumed" / "config.yml")["train"]["iters"] == expected
    assert resumed.losses == pytest.approx(straight.losses[3:], rel=1e-5)


def test_measuring_leaves_the_run_as_a_fixed_count_would_give_it(tmp_path, tiny_config):
    """The probe steps are undone: weights, statistics and random generators are as before them."""
    tiny_config(eval_interval=1.0, save_interval=1.0)
    budgeted, fixed = RecordLoss(), RecordLoss()
    warmup = ["lr.warmup_iters=20"]  # longer than the probe's steps: the probe's schedule must still be valid
    run(tmp_path, "budgeted", warmup, time_budget="10m", extra_hooks=[budgeted, InterruptAt(4)])
    iters = load_config(tmp_path / "budgeted" / "config.yml")["train"]["iters"]
    assert iters > 4
    run(tmp_path, "fixed", [*warmup, f"train.iters={iters}"], extra_hooks=[fixed, InterruptAt(4)])
    assert len(budgeted.losses) == len(fixed.losses) == 4
    np.testing.assert_allclose(budgeted.losses, fixed.losses, rtol=1e-6)


def test_train_tool_refuses_a_budget_too_small_in_one_line(tmp_path, tiny_config):
    config = tiny_config(eval_interval=1.0, save_interval=1.0)
    done = run_subprocess("train", "-c", config, "--save-dir", tmp_path / "run", "--time-budget", "1s", timeout=300)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(errors) == 1, done.stderr
    assert "train.time_budget 1s is too small" in errors[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_an_iteration_count_asked_for_turns_the_configs_budget_off(tmp_path, tiny_config, fake_costs):
    tiny_config(time_budget="6s", iters=1000)
    trainer = run(tmp_path, "counted", iters=2)
    saved = load_config(tmp_path / "counted" / "config.yml")["train"]
    assert trainer.iter == 2 and saved["iters"] == 2 and saved["time_budget"] is None
    assert run(tmp_path, "budgeted").iter == plan_iterations(6, fake_costs["value"], 2, 2, 1, "6s")
