"""Data: datasets (VOC, VOCAug, CamVid, Cityscapes, ADE20K, COCOStuff, FileList, SyntheticShapes), label encodings,
joint transforms, readers and loaders."""

from paddlefcn.data import datasets
from paddlefcn.data.datasets import dataset_meta
from paddlefcn.data.io import DataError, list_images, read_image, read_label
from paddlefcn.data.loader import SeededBatchSampler, build_dataloader, build_dataset
from paddlefcn.data.meta import DatasetMeta
from paddlefcn.data.transforms import Compose, build_transforms
from paddlefcn.utils.image import write_label
from paddlefcn.utils.palette import voc_palette

__all__ = [
    "Compose",
    "DataError",
    "DatasetMeta",
    "SeededBatchSampler",
    "build_dataloader",
    "build_dataset",
    "build_transforms",
    "dataset_meta",
    "datasets",
    "list_images",
    "read_image",
    "read_label",
    "voc_palette",
    "write_label",
]
