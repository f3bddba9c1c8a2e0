"""Datasets; importing this package registers VOC, VOCAug, CamVid, Cityscapes, ADE20K, COCOStuff, FileList and
SyntheticShapes."""

from paddlefcn.data.datasets.ade20k import ADE20K
from paddlefcn.data.datasets.base import LabelsAtFileSize, SegDataset, dataset_meta
from paddlefcn.data.datasets.camvid import CamVid
from paddlefcn.data.datasets.cityscapes import Cityscapes
from paddlefcn.data.datasets.cocostuff import COCOStuff
from paddlefcn.data.datasets.filelist import FileList
from paddlefcn.data.datasets.synthetic import SyntheticShapes
from paddlefcn.data.datasets.voc import VOC, VOCAug

__all__ = [
    "ADE20K",
    "COCOStuff",
    "CamVid",
    "Cityscapes",
    "FileList",
    "LabelsAtFileSize",
    "SegDataset",
    "SyntheticShapes",
    "VOC",
    "VOCAug",
    "dataset_meta",
]
