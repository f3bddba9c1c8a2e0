"""Datasets; importing this package registers VOC, VOCAug, CamVid, FileList and SyntheticShapes."""

from paddlefcn.data.datasets.base import LabelsAtFileSize, SegDataset, dataset_meta
from paddlefcn.data.datasets.camvid import CamVid
from paddlefcn.data.datasets.filelist import FileList
from paddlefcn.data.datasets.synthetic import SyntheticShapes
from paddlefcn.data.datasets.voc import VOC, VOCAug

__all__ = ["CamVid", "FileList", "LabelsAtFileSize", "SegDataset", "SyntheticShapes", "VOC", "VOCAug", "dataset_meta"]
