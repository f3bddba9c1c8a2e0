"""paddlefcn: Fully Convolutional Networks for semantic segmentation in PaddlePaddle."""

import warnings

# First, before anything imports Paddle: it remembers the user's OMP_NUM_THREADS, which Paddle's import overwrites.
import paddlefcn.utils.env  # noqa: F401  # isort: skip

# Paddle warns on every import that ccache (a build cache for C++ extensions) is missing; we build none.
warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)

from paddlefcn.config import dump_config, load_config
from paddlefcn.data import build_dataloader, build_dataset
from paddlefcn.engine import optim  # noqa: F401  # registers the built-in optimizers and LR schedules
from paddlefcn.errors import PaddleFCNError
from paddlefcn.experiment import Experiment
from paddlefcn.models import FCN, build_model
from paddlefcn.registry import BACKBONES, DATASETS, HEADS, LOSSES, LR_SCHEDULES, OPTIMIZERS, TRANSFORMS, UPSAMPLERS
from paddlefcn.version import __version__

__all__ = [
    "BACKBONES",
    "DATASETS",
    "Experiment",
    "FCN",
    "HEADS",
    "LOSSES",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "PaddleFCNError",
    "TRANSFORMS",
    "UPSAMPLERS",
    "__version__",
    "build_dataloader",
    "build_dataset",
    "build_model",
    "dump_config",
    "load_config",
]
