"""Models; importing this package registers every backbone, head and upsampler."""

from paddlefcn.models import backbones, heads, losses, upsample
from paddlefcn.models.segmentor import FCN, build_model

__all__ = ["FCN", "build_model", "backbones", "heads", "losses", "upsample"]
