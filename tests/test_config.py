import os
import textwrap

import pytest

from paddlefcn import PaddleFCNError, dump_config, load_config
from paddlefcn.checks import require
from paddlefcn.config import merge
from paddlefcn.errors import ConfigError


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def tree(tmp_path):
    write(
        tmp_path / "_base_" / "model.yml",
        """
        model:
          num_classes: 21
          backbone: {type: ResNet34, pretrained: imagenet}
          head: {type: FCN8s, upsampler: {scheme: "4x/2x/x", init: bilinear}}
        data:
          train: {type: VOC, transforms: [{type: RandomHorizontalFlip}, {type: Normalize}]}
        """,
    )
    write(tmp_path / "_base_" / "schedule.yml", "optimizer: {type: SGD, momentum: 0.9, weight_decay: 1e-4}\n")
    return tmp_path


def test_base_string_and_list_relative_to_file(tree):
    cfg_file = write(
        tree / "sub" / "child.yml",
        """
        _base_: [../_base_/model.yml, ../_base_/schedule.yml]
        model: {num_classes: 5}
        """,
    )
    cfg = load_config(cfg_file)
    assert cfg["model"]["num_classes"] == 5
    assert cfg["model"]["backbone"] == {"type": "ResNet34", "pretrained": "imagenet"}
    assert cfg["optimizer"]["momentum"] == 0.9
    single = write(tree / "single.yml", "_base_: _base_/schedule.yml\n")
    assert load_config(single)["optimizer"]["type"] == "SGD"


def test_scientific_notation_is_a_float(tree):
    cfg = load_config(write(tree / "c.yml", "_base_: _base_/schedule.yml\nlr: {base: 5e-4, end: 1E+2}\n"))
    assert cfg["optimizer"]["weight_decay"] == pytest.approx(1e-4)
    assert isinstance(cfg["lr"]["base"], float) and cfg["lr"]["base"] == pytest.approx(5e-4)
    assert cfg["lr"]["end"] == 100.0


def test_dicts_merge_lists_replace(tree):
    cfg = load_config(
        write(
            tree / "c.yml",
            """
            _base_: _base_/model.yml
            model: {head: {upsampler: {init: nearest}}}
            data: {train: {transforms: [{type: Normalize}]}}
            """,
        )
    )
    assert cfg["model"]["head"]["upsampler"] == {"scheme": "4x/2x/x", "init": "nearest"}
    assert cfg["model"]["head"]["type"] == "FCN8s"
    assert cfg["data"]["train"] == {"type": "VOC", "transforms": [{"type": "Normalize"}]}


def test_inherited_false_replaces_a_section(tree):
    cfg = load_config(
        write(
            tree / "c.yml",
            """
            _base_: _base_/model.yml
            model: {head: {_inherited_: false, type: FCN32s}}
            """,
        )
    )
    assert cfg["model"]["head"] == {"type": "FCN32s"}
    assert cfg["model"]["num_classes"] == 21


def test_inherited_at_the_top_of_a_file_is_refused(tree):
    path = write(tree / "c.yml", "_base_: _base_/model.yml\n_inherited_: false\nmodel: {num_classes: 3}\n")
    with pytest.raises(PaddleFCNError, match=r"c.yml: _inherited_ belongs inside a section"):
        load_config(path)


def test_overrides_parse_yaml_values(tree):
    cfg = load_config(
        tree / "_base_" / "model.yml",
        ["model.num_classes=3", "model.head.upsampler.learnable=false", "lr.base=1e-3", "eval.scales=[0.5, 1.0]"],
    )
    assert cfg["model"]["num_classes"] == 3
    assert cfg["model"]["head"]["upsampler"]["learnable"] is False
    assert cfg["lr"]["base"] == pytest.approx(1e-3)
    assert cfg["eval"]["scales"] == [0.5, 1.0]


def test_bad_overrides_are_named(tree):
    base = tree / "_base_" / "model.yml"
    with pytest.raises(PaddleFCNError, match="override 'model.num_classes' must look like key.path=value"):
        load_config(base, ["model.num_classes"])
    with pytest.raises(PaddleFCNError, match="override 'modle.x=1': unknown config key 'modle'"):
        load_config(base, ["modle.x=1"])
    with pytest.raises(PaddleFCNError, match=r"override 'lr.base=\[1'.*invalid YAML"):
        load_config(base, ["lr.base=[1"])


def test_unknown_key_names_key_and_file(tree):
    bad = write(tree / "bad.yml", "_base_: _base_/model.yml\ntrain: {iters: 10, batchsize: 2}\n")
    with pytest.raises(PaddleFCNError) as err:
        load_config(bad)
    assert str(bad) in str(err.value) and "unknown config key 'train.batchsize'" in str(err.value)
    write(tree / "_base_" / "typo.yml", "modle: {}\n")
    with pytest.raises(PaddleFCNError, match=r"typo\.yml: unknown config key 'modle'"):
        load_config(write(tree / "c.yml", "_base_: _base_/typo.yml\n"))


def test_file_errors_name_the_file(tree):
    with pytest.raises(PaddleFCNError, match="config file not found: .*missing.yml"):
        load_config(tree / "missing.yml")
    with pytest.raises(PaddleFCNError, match=r"config file not found: .*nope\.yml \(a _base_ of .*c\.yml\)"):
        load_config(write(tree / "c.yml", "_base_: nope.yml\n"))
    with pytest.raises(PaddleFCNError, match=r"broken\.yml:3: invalid YAML"):
        load_config(write(tree / "broken.yml", "model:\n  num_classes: [1\n"))
    with pytest.raises(PaddleFCNError, match=r"list\.yml: a config must be a mapping"):
        load_config(write(tree / "list.yml", "- 1\n"))
    write(tree / "a.yml", "_base_: b.yml\n")
    write(tree / "b.yml", "_base_: a.yml\n")
    with pytest.raises(PaddleFCNError, match="include each other in a loop"):
        load_config(tree / "a.yml")
    with pytest.raises(PaddleFCNError, match="'train' must be a mapping"):
        load_config(write(tree / "scalar.yml", "train: 5\n"))
    with pytest.raises(PaddleFCNError, match=r"empty\.yml: the config is empty"):
        load_config(write(tree / "empty.yml", "# nothing yet\n"))
    latin1 = tree / "latin1.yml"
    latin1.write_bytes("# caf\xe9\nmodel: {num_classes: 2}\n".encode("latin-1"))
    with pytest.raises(PaddleFCNError, match=r"latin1\.yml: not a UTF-8 text file \(byte 5\)"):
        load_config(latin1)


def test_require_names_a_missing_or_null_key():
    cfg = {"data": {"train": None, "val": {"type": "VOC"}}}
    assert require(cfg, "data.val.type") == "VOC"
    with pytest.raises(ConfigError, match="^missing required key 'data.test'$"):
        require(cfg, "data.test")
    with pytest.raises(ConfigError, match="^required key 'data.train' is null$"):
        require(cfg, "data.train")


def test_dump_round_trips(tree, tmp_path):
    cfg = load_config(tree / "_base_" / "model.yml", ["lr.base=5e-4"])
    out = tmp_path / "run" / "config.yml"
    dump_config(cfg, out)
    assert load_config(out) == cfg
    assert [p.name for p in out.parent.iterdir()] == ["config.yml"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask, "written like any new file, not private"


def test_merge_does_not_modify_inputs():
    base = {"a": {"b": [1, 2]}}
    child = {"a": {"c": 3}}
    merged = merge(base, child)
    merged["a"]["b"].append(9)
    assert base == {"a": {"b": [1, 2]}} and merged["a"] == {"b": [1, 2, 9], "c": 3}
