"""Training loaders that resume exactly: epoch-ordered batches that can start mid-epoch, and
augmentation randomness tied to each sample rather than to the process that happens to load it.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from paddle.io import BatchSampler, DataLoader, Dataset


class SeededSamples(Dataset):
    """Re-seeds NumPy's global generator from ``(seed, epoch, index)`` before loading each sample.

    Random transforms then draw the same numbers for the same sample in the same epoch, whichever
    worker loads it, however far the loader prefetches, and after a resume.

    Args:
        dataset: Yields ``(image, label)`` for an integer index.
        seed: Base seed of the run.
    """

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        np.random.seed(np.random.SeedSequence([self.seed, epoch, index]).generate_state(1)[0])
        return self.dataset[index]

    def __len__(self) -> int:
        return len(self.dataset)


class ResumableBatchSampler(BatchSampler):
    """Yields batches of ``(epoch, index)`` keys for ``SeededSamples``; the next pass can skip batches.

    Skipping happens on the index lists, so no skipped sample is loaded or augmented.

    Args:
        inner: A batch sampler with ``set_epoch(epoch)`` (``SeededBatchSampler``).
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Makes the next pass the order of ``epoch``, starting at its ``skip``-th batch."""
        self.epoch, self.skip = epoch, skip
        self.inner.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, skip = self.epoch, self.skip
        self.skip = 0
        for i, batch in enumerate(self.inner):
            if i >= skip:
                yield [(epoch, index) for index in batch]

    def __len__(self) -> int:
        return len(self.inner)


def build_train_loader(dataset: Dataset, batch_size: int, num_workers: int = 0, seed: int = 0) -> DataLoader:
    """A shuffling, last-batch-dropping loader whose epoch and position the trainer sets (``start_at``).

    With several ranks each gets its share of every epoch's seeded order (see ``SeededBatchSampler``).
    """
    from paddlefcn.data.loader import SeededBatchSampler, make_loader

    inner = SeededBatchSampler(dataset, batch_size, shuffle=True, drop_last=True, seed=seed)
    sampler = ResumableBatchSampler(inner)
    return make_loader(SeededSamples(dataset, seed), sampler, num_workers, "train.batch_size")


def start_at(loader: DataLoader, epoch: int, batch: int) -> None:
    """Makes the next pass of a ``build_train_loader`` loader the given epoch, from its ``batch``-th batch."""
    loader.batch_sampler.set_epoch(epoch, batch)
