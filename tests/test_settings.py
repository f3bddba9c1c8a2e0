"""Settings declared once: the config schema, defaults and checks come from the section classes."""

from dataclasses import dataclass

import pytest
import yaml

from paddlefcn import load_config
from paddlefcn.checks import check_number
from paddlefcn.config import schema
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.settings import (
    SECTIONS,
    EvalSettings,
    ModelSettings,
    RuntimeSettings,
    TrainSettings,
    setting,
)


@dataclass(frozen=True)
class TrainWithWarmupRatio(TrainSettings):
    """The train section with one more key, declared the way every key is."""

    warmup_ratio: float = setting(0.1, lambda value, key: check_number(value, key, positive=True), "warm-up share")


def write(tmp_path, cfg):
    path = tmp_path / "cfg.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_a_train_key_declared_in_its_settings_class_is_known_defaulted_and_checked(tmp_path, monkeypatch):
    given = write(tmp_path, {"train": {"iters": 5, "warmup_ratio": 0.25}})
    with pytest.raises(PaddleFCNError, match="unknown config key 'train.warmup_ratio'"):
        load_config(given)

    monkeypatch.setitem(SECTIONS, "train", TrainWithWarmupRatio)
    assert "warmup_ratio" in schema()["train"]
    assert TrainWithWarmupRatio.of(load_config(given)).warmup_ratio == 0.25
    defaulted = TrainWithWarmupRatio.of(load_config(write(tmp_path, {"train": {"iters": 5}})))
    assert defaulted.warmup_ratio == 0.1 and defaulted.iters == 5 and defaulted.batch_size == 8
    bad = load_config(write(tmp_path, {"train": {"warmup_ratio": -1}}))
    with pytest.raises(ConfigError, match=r"train.warmup_ratio must be a positive number, got -1"):
        TrainWithWarmupRatio.of(bad)


def test_the_schema_is_the_sections_keys():
    known = schema()
    for name, section in SECTIONS.items():
        assert list(known[name]) == section.keys()
        assert set(section.docs()) == set(section.keys()) and all(section.docs().values())
    assert {"imports", "loss", "optimizer", "lr"} <= set(known)


@pytest.mark.parametrize("name", sorted(set(SECTIONS) - {"model"}))
def test_every_default_passes_its_own_check(name):
    SECTIONS[name].of({})


def test_a_required_key_is_named_when_missing_or_null():
    with pytest.raises(ConfigError, match="missing required key 'model.num_classes'"):
        ModelSettings.of({"model": {}})
    with pytest.raises(ConfigError, match="required key 'model.num_classes' is null"):
        ModelSettings.of({"model": {"num_classes": None}})


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        (TrainSettings, {"iters": 0}, r"train.iters must be an integer >= 1, got 0"),
        (TrainSettings, {"amp": "yes"}, r"train.amp must be true or false, got 'yes'"),
        (TrainSettings, {"vis_images": -1}, r"train.vis_images must be an integer >= 0, got -1"),
        (RuntimeSettings, {"cpu_threads": 0}, r"runtime.cpu_threads must be an integer >= 1, got 0"),
        (EvalSettings, {"batch_size": 0}, r"eval.batch_size must be an integer >= 1, got 0"),
    ],
)
def test_a_bad_value_names_the_key_and_what_is_allowed(section, values, message):
    with pytest.raises(ConfigError, match=message):
        section.from_values(values)


def test_given_values_win_over_the_config_and_none_keeps_it():
    cfg = {"train": {"iters": 7, "seed": 3}}
    settings = TrainSettings.of(cfg, iters=9, seed=None)
    assert (settings.iters, settings.seed) == (9, 3)
