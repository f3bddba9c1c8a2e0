"""Heads; importing this package registers them in ``HEADS``."""

from paddlefcn.models.heads.base import Head, select_feature
from paddlefcn.models.heads.conv import ConvHead
from paddlefcn.models.heads.fcn import FCN8s, FCN16s, FCN32s, FCNHead

__all__ = ["ConvHead", "FCN8s", "FCN16s", "FCN32s", "FCNHead", "Head", "select_feature"]
