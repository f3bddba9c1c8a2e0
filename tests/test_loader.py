"""Data loaders: batch shapes and dtypes, seeded shuffling per epoch, drop_last, worker processes, loading errors."""

import numpy as np
import paddle
import pytest
from paddle.io import Dataset

import paddlefcn
from paddlefcn.data import SeededBatchSampler, build_dataloader
from paddlefcn.data.io import DataError
from paddlefcn.data.loader import _size_mismatch
from paddlefcn.errors import PaddleFCNError


class Indexed(Dataset):
    """Sample ``i`` is an image filled with ``i`` and a label filled with ``i``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, i):
        return np.full((3, 4, 5), i, np.float32), np.full((4, 5), i, np.int64)

    def __len__(self) -> int:
        return self.n


def _order(loader):
    return [int(v) for _, labels in loader for v in labels[:, 0, 0].numpy()]


def test_batches_of_a_real_dataset_have_the_right_shapes_and_dtypes(tmp_path):
    dataset = paddlefcn.build_dataset(
        {
            "type": "SyntheticShapes",
            "root": str(tmp_path),
            "num_images": 5,
            "size": 40,
            "transforms": [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}],
        }
    )
    batches = list(build_dataloader(dataset, batch_size=2, shuffle=True, drop_last=True))
    assert len(batches) == 2
    images, labels = batches[0]
    assert images.shape == [2, 3, 40, 40] and images.dtype == paddle.float32
    assert labels.shape == [2, 40, 40] and labels.dtype == paddle.int64


def test_shuffle_is_reproducible_per_seed_and_changes_per_epoch():
    data = Indexed(10)
    loader = build_dataloader(data, batch_size=3, shuffle=True, drop_last=False, seed=5)
    epoch0, epoch1 = _order(loader), _order(loader)
    assert sorted(epoch0) == list(range(10)) and sorted(epoch1) == list(range(10))
    assert epoch0 != epoch1
    again = build_dataloader(data, batch_size=3, shuffle=True, drop_last=False, seed=5)
    assert _order(again) == epoch0
    again.batch_sampler.set_epoch(1)
    assert _order(again) == epoch1
    other = build_dataloader(data, batch_size=3, shuffle=True, drop_last=False, seed=6)
    assert _order(other) != epoch0


def test_no_shuffle_keeps_order_and_drop_last_drops_the_tail():
    data = Indexed(7)
    assert _order(build_dataloader(data, batch_size=3, shuffle=False, drop_last=False)) == list(range(7))
    dropped = build_dataloader(data, batch_size=3, shuffle=True, drop_last=True)
    assert len(dropped) == 2 and len(_order(dropped)) == 6
    assert len(SeededBatchSampler(data, 3, shuffle=False, drop_last=False)) == 3


def test_worker_processes_give_the_same_batches():
    data = Indexed(6)
    main = _order(build_dataloader(data, batch_size=2, shuffle=True, drop_last=False, seed=1))
    workers = _order(build_dataloader(data, batch_size=2, shuffle=True, drop_last=False, num_workers=2, seed=1))
    assert workers == main


class Failing(Indexed):
    """``Indexed``, except that sample 3 fails as ``failure`` says: ``data``, ``bug``, ``size`` or ``label size``."""

    def __init__(self, n: int, failure: str) -> None:
        super().__init__(n)
        self.failure = failure

    def __getitem__(self, i):
        if i == 3 and self.failure == "data":
            raise DataError("/data/img_3.jpg", "corrupt image", "cannot decode image")
        if i == 3 and self.failure == "bug":
            raise KeyError("no such key")
        if i == 3 and self.failure == "size":
            return np.zeros((3, 6, 5), np.float32), np.zeros((6, 5), np.int64)
        if i == 3 and self.failure == "label size":
            return np.zeros((3, 4, 5), np.float32), np.zeros((6, 5), np.int64)
        return super().__getitem__(i)


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize(
    ("failure", "error", "message"),
    [
        ("data", PaddleFCNError, r"^/data/img_3\.jpg: cannot decode image$"),
        ("bug", RuntimeError, r"(?s)loading a sample failed:\n.*KeyError: 'no such key'"),
        ("size", PaddleFCNError, r"^batch_size: a batch holds images of different sizes \(4x5, 6x5\)"),
        ("label size", PaddleFCNError, r"^batch_size: a batch holds labels of different sizes \(4x5, 6x5\)"),
    ],
)
def test_a_failing_sample_raises_in_the_main_process_instead_of_hanging(num_workers, failure, error, message):
    data = Failing(6, failure)
    batches = iter(build_dataloader(data, batch_size=2, shuffle=False, drop_last=False, num_workers=num_workers))
    assert [int(v) for v in next(batches)[1][:, 0, 0].numpy()] == [0, 1]
    with pytest.raises(error, match=message) as raised:
        next(batches)
    assert "\n" not in str(raised.value) or error is RuntimeError  # user errors stay one line


def test_size_mismatch_suggests_a_crop_for_training_only():
    samples = [(np.zeros((3, 4, 5)), np.zeros((4, 5))), (np.zeros((3, 6, 5)), np.zeros((6, 5)))]
    assert _size_mismatch(samples, "train.batch_size").message.endswith(
        "or a Resize or RandomPaddingCrop transform that gives every sample one size"
    )
    assert _size_mismatch(samples, "eval.batch_size").message.endswith(
        "use a batch size of 1, or a Resize transform that gives every sample one size"
    )
    assert _size_mismatch(samples[:1] * 2, "eval.batch_size") is None


def test_bad_loader_arguments():
    with pytest.raises(PaddleFCNError, match="batch_size"):
        build_dataloader(Indexed(2), batch_size=0, shuffle=False, drop_last=False)
    with pytest.raises(PaddleFCNError, match="num_workers"):
        build_dataloader(Indexed(2), batch_size=1, shuffle=False, drop_last=False, num_workers=-1)


def test_ranks_split_the_seeded_order_evenly():
    data = Indexed(10)

    def shares(seed, epoch=0, drop_last=False):
        samplers = [SeededBatchSampler(data, 2, True, drop_last, seed, num_replicas=3, rank=r) for r in range(3)]
        for sampler in samplers:
            sampler.set_epoch(epoch)
        return [[i for batch in sampler for i in batch] for sampler in samplers]

    ranks = shares(seed=4)
    assert [len(r) for r in ranks] == [4, 4, 4]  # 10 samples padded to 12 by wrapping around
    seen = [i for r in ranks for i in r]
    assert sorted(set(seen)) == list(range(10)) and len(seen) - len(set(seen)) == 2
    whole = list(SeededBatchSampler(data, 10, True, False, seed=4, num_replicas=1, rank=0))[0]
    assert [share[: len(whole[k::3])] for k, share in enumerate(ranks)] == [whole[k::3] for k in range(3)]
    assert shares(seed=5) != ranks and shares(seed=4, epoch=1) != ranks
    assert [len(r) for r in shares(seed=4, drop_last=True)] == [4, 4, 4]
    with pytest.raises(PaddleFCNError, match=r"rank must be in \[0, 3\), got 3"):
        SeededBatchSampler(data, 2, True, False, num_replicas=3, rank=3)
