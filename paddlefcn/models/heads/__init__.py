"""Heads; importing this package registers them in ``HEADS``."""

from paddlefcn.models.heads.fcn import FCN8s, FCN16s, FCN32s, FCNHead

__all__ = ["FCNHead", "FCN32s", "FCN16s", "FCN8s"]
