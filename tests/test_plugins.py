"""A user's own backbone, loss, transforms, optimizer and LR schedule, in modules outside the package, registered
through ``imports:``."""

import textwrap

import cv2
import numpy as np
import paddle
import pytest
import yaml
from conftest import write_tiny_config
from PIL import Image
from tool_helpers import run_subprocess

from paddlefcn import PaddleFCNError, load_config

PLUGIN = textwrap.dedent(
    '''
    """A tiny backbone and a scaled cross-entropy, registered from outside paddlefcn."""
    import os
    from pathlib import Path

    import paddle.nn.functional as F
    from paddle import nn

    from paddlefcn import BACKBONES, LOSSES, TRANSFORMS
    from paddlefcn.models.backbones import Backbone, FeatureSpec
    from paddlefcn.models.losses import Loss


    @TRANSFORMS.register()
    class Brighten:
        """Adds ``delta`` to every pixel: a deterministic transform that an export keeps."""

        random = False

        def __init__(self, delta: float = 0.0):
            self.delta = delta

        def __call__(self, image, label=None):
            return image + self.delta, label


    @TRANSFORMS.register()
    class MarkProcess:
        """Leaves a file named after the process that loads each sample (the main one or a loader worker)."""

        random = False

        def __init__(self, directory: str):
            self.directory = Path(directory)

        def __call__(self, image, label=None):
            (self.directory / str(os.getpid())).touch()
            return image, label


    @BACKBONES.register()
    class PlugNet(Backbone):
        def __init__(self, width: int = 8, pretrained=None):
            super().__init__()
            blocks, channels = [], 3
            for _ in range(5):  # five stride-2 stages: strides 2 .. 32
                blocks.append(nn.Sequential(nn.Conv2D(channels, width, 3, stride=2, padding=1), nn.ReLU()))
                channels = width
            self.blocks = nn.LayerList(blocks)
            self.feature_specs = [FeatureSpec(f"stage{i}", width, 2 ** (i + 1)) for i in range(2, 5)]

        def forward(self, x):
            features = []
            for i, block in enumerate(self.blocks):
                x = block(x)
                if i >= 2:
                    features.append(x)
            return features


    @BACKBONES.register()
    class MisdeclaredNet(PlugNet):
        """PlugNet declaring 16 channels for its stride-16 feature, which has 8."""

        def __init__(self, pretrained=None):
            super().__init__(width=8)
            self.feature_specs[1] = FeatureSpec("stage3", 16, 16)


    @LOSSES.register()
    class ScaledCrossEntropy(Loss):
        def __init__(self, ignore_index: int = 255, scale: float = 1.0):
            super().__init__(ignore_index)
            self.scale = scale

        def forward(self, logits, labels):
            loss = F.cross_entropy(logits, labels.unsqueeze(1), ignore_index=self.ignore_index, axis=1)
            return self.scale * loss
    '''
)


def plugin_config(tmp_path, **extra):
    """The tiny config with the plug-in backbone and loss, and ``my_plugins.py`` beside it."""
    (tmp_path / "my_plugins.py").write_text(PLUGIN)
    path = write_tiny_config(tmp_path, iters=2, eval_interval=2, save_interval=2)
    cfg = yaml.safe_load(path.read_text())
    cfg["imports"] = ["my_plugins"]
    cfg["model"]["backbone"] = {"type": "PlugNet", "width": 8}
    cfg["loss"] = {"type": "ScaledCrossEntropy", "scale": 1000.0}
    cfg["data"]["val"]["transforms"].insert(0, {"type": "Brighten", "delta": 1.0})
    (tmp_path / "loaded_by").mkdir()
    cfg["data"]["train"]["transforms"].insert(0, {"type": "MarkProcess", "directory": str(tmp_path / "loaded_by")})
    for key, value in extra.items():
        cfg["data"][key] = value
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("workers", [0, 2])
def test_a_plugin_backbone_and_loss_train_through_the_tool(tmp_path, workers):
    config = plugin_config(tmp_path, num_workers=workers)
    run = tmp_path / "run"
    # Run from the config's directory: modules are found there, as `python -m` finds them.
    done = run_subprocess("train", "-c", config, "--save-dir", run, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    weights = paddle.load(str(run / "checkpoints" / "iter_2" / "model.pdparams"))
    assert any(key.startswith("backbone.blocks.4.") for key in weights)  # the plug-in's layers were trained
    saved = yaml.safe_load((run / "config.yml").read_text())
    assert saved["imports"] == ["my_plugins"] and saved["loss"]["type"] == "ScaledCrossEntropy"
    losses = [float(line.split("loss ")[1].split()[0]) for line in done.stdout.splitlines() if " loss " in line]
    assert losses and min(losses) > 100  # cross-entropy of 7 classes is about 2; scaled by 1000
    loaders = {int(p.name) for p in (tmp_path / "loaded_by").iterdir()}
    assert len(loaders) == max(workers, 1)  # the plug-in transform ran in each worker process
    if workers:
        return
    # The export keeps the plug-in's val transform; deploy.yaml names the module, and inference imports it.
    weights = run / "checkpoints" / "iter_2"
    done = run_subprocess("export", "-c", config, "--weights", weights, "--save-dir", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    deploy = yaml.safe_load((tmp_path / "out" / "deploy.yaml").read_text())
    assert deploy["imports"] == ["my_plugins"] and deploy["transforms"][0] == {"type": "Brighten", "delta": 1.0}
    image = tmp_path / "image.png"
    cv2.imwrite(str(image), np.full((40, 50, 3), 128, np.uint8))
    masks = tmp_path / "masks"
    done = run_subprocess("infer", "--model-dir", tmp_path / "out", "--input", image, "--save-dir", masks, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    mask = Image.open(masks / "image.png")
    assert mask.mode == "P" and mask.size == (50, 40)


def test_a_plugin_backbone_whose_feature_specs_are_wrong_is_refused_at_build(tmp_path):
    config = plugin_config(tmp_path)
    run = tmp_path / "run"
    wrong = "model.backbone={type: MisdeclaredNet}"
    done = run_subprocess("train", "-c", config, "--save-dir", run, "-o", wrong, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        "error: backbone MisdeclaredNet: feature 'stage3' (index 1) has 8 channels, feature_specs declares 16"
    ]
    assert not (run / "checkpoints").exists()


OPTIM_PLUGIN = textwrap.dedent(
    '''
    """An optimizer and an LR schedule registered from outside paddlefcn."""
    import paddle

    from paddlefcn import LR_SCHEDULES, OPTIMIZERS


    @OPTIMIZERS.register()
    def PlugAdam(model, lr, beta1=0.9):
        return paddle.optimizer.Adam(learning_rate=lr, beta1=beta1, parameters=model.parameters())


    @LR_SCHEDULES.register()
    def halving(total_iters, base, every=1):
        return paddle.optimizer.lr.StepDecay(base, step_size=every, gamma=0.5)
    '''
)


def test_a_plugin_optimizer_and_lr_schedule_train_through_the_tool(tmp_path):
    (tmp_path / "my_optim.py").write_text(OPTIM_PLUGIN)
    config = write_tiny_config(tmp_path, iters=2, eval_interval=2, save_interval=2)
    cfg = yaml.safe_load(config.read_text())
    cfg["imports"] = ["my_optim"]
    cfg["optimizer"] = {"type": "PlugAdam", "beta1": 0.8}
    cfg["lr"] = {"type": "halving", "base": 0.04}
    config.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    done = run_subprocess("train", "-c", config, "--save-dir", run, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    logged = [line.split(" lr ")[1].split()[0] for line in done.stdout.splitlines() if " lr " in line]
    assert logged == ["4.000e-02", "2.000e-02"]  # the plug-in schedule halves the rate each iteration
    state = paddle.load(str(run / "checkpoints" / "iter_2" / "optim.pdopt"))
    assert any("moment1" in key for key in state) and not any("velocity" in key for key in state)  # Adam's, not SGD's
    saved = yaml.safe_load((run / "config.yml").read_text())
    assert saved["optimizer"] == {"type": "PlugAdam", "beta1": 0.8} and saved["lr"] == {"type": "halving", "base": 0.04}
    done = run_subprocess("train", "-c", config, "--save-dir", tmp_path / "bad", "-o", "lr.gamma=0.1", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {config}: unknown config key 'lr.gamma' (known here: base, every, type)"
    ]


def test_a_module_that_fails_to_import_is_one_line_naming_it(tmp_path):
    config = plugin_config(tmp_path)
    cfg = yaml.safe_load(config.read_text())
    cfg["imports"] = ["my_plugins", "not_a_module_here"]
    config.write_text(yaml.safe_dump(cfg))
    done = run_subprocess("train", "-c", config, "--save-dir", tmp_path / "run", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {config}: imports: cannot import 'not_a_module_here' "
        "(ModuleNotFoundError: No module named 'not_a_module_here')"
    ]


def test_an_error_inside_a_plugin_names_the_module(tmp_path):
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('cannot find my weights')\n")
    config = tmp_path / "c.yml"
    config.write_text("imports: [broken_plugin]\nmodel: {num_classes: 2}\n")
    with pytest.raises(PaddleFCNError, match=r"imports: cannot import 'broken_plugin' \(RuntimeError: cannot find my"):
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(tmp_path)
            load_config(config)
    config.write_text("imports: my_plugins\n")
    with pytest.raises(PaddleFCNError, match="imports must be a list of module names"):
        load_config(config)
