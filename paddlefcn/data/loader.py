"""Datasets from configs, and ``paddle.io.DataLoader`` s with reproducible shuffling."""

from __future__ import annotations

import functools
import traceback
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np
import paddle
from paddle.io import BatchSampler, DataLoader, Dataset, Subset
from paddle.io.dataloader.collate import default_collate_fn

from paddlefcn.checks import check_int
from paddlefcn.data.datasets import LabelsAtFileSize
from paddlefcn.data.transforms import build_transforms
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import DATASETS


def build_dataset(dataset_cfg: dict) -> Dataset:
    """Builds a dataset from a mapping such as ``data.train``: ``type``, the dataset's keys and ``transforms``."""
    if not isinstance(dataset_cfg, dict):
        raise PaddleFCNError(f"a dataset config must be a mapping, got {dataset_cfg!r}")
    cfg = dict(dataset_cfg)
    transforms = build_transforms(cfg.pop("transforms", None))
    return DATASETS.build(cfg, transforms=transforms)


class SeededBatchSampler(BatchSampler):
    """Batches of indices, shuffled by a generator seeded with ``(seed, epoch)``, split between ranks.

    Each pass over the sampler uses the current epoch and then advances it, so successive epochs differ
    but a run is reproducible; ``set_epoch`` sets the epoch explicitly (e.g. when resuming). With several
    ranks, every rank draws the same order and takes every ``num_replicas``-th sample of it from its
    ``rank`` on; the order is first padded by wrapping around, so all ranks get the same number of samples
    (as ``paddle.io.DistributedBatchSampler`` does, which however shuffles by the epoch alone).

    Args:
        dataset: The dataset (only its length is used).
        batch_size: Samples per batch (per rank).
        shuffle: Whether to shuffle; otherwise indices are in order.
        drop_last: Drop the last incomplete batch.
        seed: Base seed of the shuffling.
        num_replicas: Number of ranks; default the world size of ``paddle.distributed``.
        rank: This rank; default the ``paddle.distributed`` rank.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        seed: int = 0,
        num_replicas: Optional[int] = None,
        rank: Optional[int] = None,
    ) -> None:
        self.num_replicas = paddle.distributed.get_world_size() if num_replicas is None else num_replicas
        self.rank = paddle.distributed.get_rank() if rank is None else rank
        if not 0 <= self.rank < self.num_replicas:
            raise PaddleFCNError(f"rank must be in [0, {self.num_replicas}), got {self.rank}")
        self.dataset_size = len(dataset)
        self.num_samples = -(-self.dataset_size // self.num_replicas)  # per rank
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Makes the next pass use the order of ``epoch``."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.dataset_size)
        else:
            order = np.arange(self.dataset_size)
        self.epoch += 1
        padded = np.resize(order, self.num_samples * self.num_replicas)  # repeats from the start
        mine = padded[self.rank :: self.num_replicas]
        stop = len(self) * self.batch_size if self.drop_last else self.num_samples
        for start in range(0, stop, self.batch_size):
            yield mine[start : start + self.batch_size].tolist()

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)


def build_dataloader(
    dataset: Dataset, batch_size: int, shuffle: bool, drop_last: bool, num_workers: int = 0, seed: int = 0
) -> DataLoader:
    """A ``paddle.io.DataLoader`` yielding ``[images float32 [N, 3, H, W], labels int64 [N, H, W]]``.

    The batches come from a ``SeededBatchSampler``: the order depends only on ``seed`` and the epoch,
    advances by itself each epoch, and ``loader.batch_sampler.set_epoch(e)`` selects epoch ``e`` (call it
    when resuming). With several processes (``paddle.distributed.get_world_size() > 1``) each rank gets
    its own share of that order. Random transforms draw from NumPy's global generator, which Paddle
    re-seeds in each worker from the main process's generator, so seed that (``np.random.seed``) for
    reproducible augmentation.

    Args:
        dataset: Yields ``(image CHW float32, label HW int64)``.
        batch_size: Samples per batch (per rank when distributed).
        shuffle: Shuffle every epoch (training).
        drop_last: Drop the last incomplete batch (training).
        num_workers: Worker processes; 0 loads in the main process.
        seed: Seed of the shuffling order.
    """
    check_int(batch_size, "batch_size")
    check_int(num_workers, "num_workers", minimum=0)
    sampler = SeededBatchSampler(dataset, batch_size, shuffle, drop_last, seed)
    return make_loader(dataset, sampler, num_workers, "batch_size")


FAILURE_KEY = "load_failure"


@dataclass
class LoadFailure:
    """Why a sample or batch could not be loaded; ``user_error`` marks a ``PaddleFCNError`` (bad data or config)."""

    message: str
    user_error: bool


class ReportingDataset(Dataset):
    """Returns a ``LoadFailure`` instead of raising, so the loader's thread or worker can pass it on."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __getitem__(self, key: Any) -> Any:
        try:
            return self.dataset[key]
        except PaddleFCNError as err:
            return LoadFailure(str(err), user_error=True)
        except Exception:  # any other failure in a loader thread would leave the main process waiting
            return LoadFailure(traceback.format_exc(), user_error=False)

    def __len__(self) -> int:
        return len(self.dataset)


def collate_or_report(samples: list[Any], batch_key: str) -> Any:
    """Stacks ``(image, label)`` samples, or encodes the first ``LoadFailure`` as a ``{FAILURE_KEY: ...}`` batch.

    Args:
        samples: Items of a ``ReportingDataset``.
        batch_key: The config key of the batch size, named when the images of a batch differ in size.
    """
    failure = next((sample for sample in samples if isinstance(sample, LoadFailure)), None)
    if failure is None:
        failure = _size_mismatch(samples, batch_key)
    if failure is None:
        return default_collate_fn(samples)
    return {
        FAILURE_KEY: np.frombuffer(failure.message.encode(), dtype=np.uint8),
        "user_error": np.array([failure.user_error]),
    }


def _size_mismatch(samples: list[Any], batch_key: str) -> Optional[LoadFailure]:
    """The error for a batch whose images, or labels, differ in size; ``None`` if they can be stacked."""
    crop = "" if batch_key.startswith("eval") else " or RandomPaddingCrop"  # augmentations are training-only
    for position, what, remedy in (
        (0, "images", f"or a Resize{crop} transform that gives every sample one size"),
        (1, "labels", "as validation scores every label at the size of its file"),
    ):
        sizes = sorted({tuple(np.shape(sample[position])[-2:]) for sample in samples if len(sample) > position})
        if len(sizes) > 1:
            shown = ", ".join(f"{h}x{w}" for h, w in sizes[:4])
            return LoadFailure(
                f"{batch_key}: a batch holds {what} of different sizes ({shown}); use a batch size of 1, {remedy}",
                user_error=True,
            )
    return None


class ReportingDataLoader(DataLoader):
    """A ``paddle.io.DataLoader`` that raises a sample's loading error in the main process.

    Paddle's loader hangs when a dataset raises in its loading thread (``num_workers: 0``) and cannot
    rebuild exceptions that take several arguments from a worker; here the dataset returns the failure
    instead, and iteration raises it: a ``PaddleFCNError`` with the original one-line message, or a
    ``RuntimeError`` carrying the traceback of any other exception.
    """

    def __iter__(self) -> Iterator[Any]:
        for batch in super().__iter__():
            if isinstance(batch, dict) and FAILURE_KEY in batch:
                message = np.asarray(batch[FAILURE_KEY]).tobytes().decode(errors="replace")
                if bool(np.asarray(batch["user_error"]).item()):
                    raise PaddleFCNError(message)
                raise RuntimeError(f"loading a sample failed:\n{message}")
            yield batch


def make_loader(dataset: Dataset, batch_sampler: BatchSampler, num_workers: int, batch_key: str) -> DataLoader:
    """A ``ReportingDataLoader`` over ``dataset`` with ``batch_sampler``, yielding lists of tensors.

    Args:
        dataset: Yields ``(image, label)``; its errors are raised by the loader's iteration.
        batch_sampler: Batches of dataset keys.
        num_workers: Worker processes; 0 loads in a thread of the main process.
        batch_key: The config key of the batch size, for the error on images of different sizes.
    """
    return ReportingDataLoader(
        ReportingDataset(dataset),
        batch_sampler=batch_sampler,
        num_workers=num_workers,
        collate_fn=functools.partial(collate_or_report, batch_key=batch_key),
        return_list=True,
    )


def build_val_loader(dataset: Dataset, batch_size: int, num_workers: int = 0) -> DataLoader:
    """This rank's loader over an unpadded shard of ``dataset`` (rank r takes samples r, r+world, ...), in order.

    The labels keep the size of their files (``LabelsAtFileSize``), so metrics are at the labels' resolution.
    """
    scored = LabelsAtFileSize(dataset)
    world, rank = paddle.distributed.get_world_size(), paddle.distributed.get_rank()
    shard = scored if world == 1 else Subset(scored, list(range(rank, len(scored), world)))
    sampler = BatchSampler(shard, batch_size=batch_size, shuffle=False, drop_last=False)
    return make_loader(shard, sampler, num_workers, "eval.batch_size")
