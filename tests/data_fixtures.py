"""Tiny on-disk datasets for the data tests: a VOC2012 tree, an SBD tree, a CamVid tree and loose images/labels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from paddlefcn.data import voc_palette


def random_label(rng: np.random.Generator, height: int, width: int, num_classes: int = 21) -> np.ndarray:
    """Blocks of random classes with a void (255) border, like VOC labels."""
    label = rng.integers(0, num_classes, (height // 4 + 1, width // 4 + 1)).repeat(4, 0).repeat(4, 1)
    label = label[:height, :width].astype(np.uint8)
    label[0, :] = 255
    return label


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random colour gradient: survives JPEG almost unchanged, unlike pixel noise."""
    start, step_x, step_y = rng.integers(40, 120, 3), rng.integers(-3, 4, 3), rng.integers(-3, 4, 3)
    grid = start + step_x * np.arange(width)[None, :, None] + step_y * np.arange(height)[:, None, None]
    return grid.astype(np.uint8)


def save_palette_png(path: Path, label: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(label.astype(np.uint8))
    image.putpalette([v for colour in voc_palette(256) for v in colour])
    image.save(path)


def save_image(path: Path, image: np.ndarray) -> None:
    """Writes an RGB (or grey/RGBA) array with OpenCV, which wants BGR order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if image.ndim == 3 and image.shape[2] == 3:
        image = image[:, :, ::-1]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, [2, 1, 0, 3]]
    params = [cv2.IMWRITE_JPEG_QUALITY, 100] if path.suffix == ".jpg" else []
    assert cv2.imwrite(str(path), np.ascontiguousarray(image), params)


def make_voc(
    root: Path, splits: dict[str, list[str]], size=(12, 16), seed=0, label_dir="SegmentationClass"
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Writes a VOC2012-style tree under ``root``; returns ``{id: (image, label)}``."""
    rng = np.random.default_rng(seed)
    written = {}
    for split, names in splits.items():
        for name in names:
            if name not in written:
                image = smooth_image(rng, *size)
                label = random_label(rng, *size)
                save_image(root / "JPEGImages" / f"{name}.jpg", image)
                save_palette_png(root / label_dir / f"{name}.png", label)
                written[name] = (image, label)
        lists = root / "ImageSets" / "Segmentation"
        lists.mkdir(parents=True, exist_ok=True)
        (lists / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return written


def make_sbd(root: Path, train: list[str], val: list[str], size=(12, 16), seed=1) -> dict[str, np.ndarray]:
    """Writes an SBD ``benchmark_RELEASE/dataset`` tree with ``GTcls`` .mat files; returns ``{id: label}``."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    dataset = root / "benchmark_RELEASE" / "dataset"
    (dataset / "cls").mkdir(parents=True, exist_ok=True)
    labels = {}
    for name in train + val:
        label = rng.integers(0, 21, size).astype(np.uint8)
        boundaries = np.empty((20, 1), dtype=object)
        for k in range(20):
            boundaries[k, 0] = np.zeros(size, dtype=bool)
        gt = {"Boundaries": boundaries, "Segmentation": label, "CategoriesPresent": np.unique(label)[None, :]}
        savemat(str(dataset / "cls" / f"{name}.mat"), {"GTcls": gt})
        save_image(dataset / "img" / f"{name}.jpg", rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        labels[name] = label
    (dataset / "train.txt").write_text("".join(f"{n}\n" for n in train))
    (dataset / "val.txt").write_text("".join(f"{n}\n" for n in val))
    return labels


CAMVID_VOID = 11


def camvid_label(rng: np.random.Generator, height: int, width: int, classes) -> np.ndarray:
    """4x4 blocks of ``classes`` (each at least once) and of void (11, at least once), in random order."""
    rows, cols = -(-height // 4), -(-width // 4)
    values = np.array([*classes, CAMVID_VOID])
    blocks = rng.choice(values, rows * cols)
    blocks[: len(values)] = values  # every listed class and void occur
    blocks = rng.permutation(blocks).reshape(rows, cols)
    return blocks.repeat(4, 0).repeat(4, 1)[:height, :width].astype(np.uint8)


def make_camvid(
    root: Path, splits: dict[str, list[str]], size=(24, 32), seed=0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Writes CamVid as the SegNet tutorial distributes it; returns ``{name: (image, label)}``.

    ``<root>/<split>/<name>.png`` RGB images, ``<root>/<split>annot/<name>.png`` 8-bit grey labels and
    ``<root>/<split>.txt`` lists whose lines carry the ``/SegNet/CamVid/`` prefix of the machine they were made on.
    The n-th label written holds 6 of the 11 classes, starting at class ``4n mod 11`` (so any 3 consecutive labels
    cover every class), plus void (11) pixels.
    """
    rng = np.random.default_rng(seed)
    written = {}
    for split, names in splits.items():
        lines = []
        for name in names:
            assert name not in written, f"{name} is in two splits"
            first = 4 * len(written)
            image = smooth_image(rng, *size)
            label = camvid_label(rng, *size, [(first + k) % 11 for k in range(6)])
            save_image(root / split / f"{name}.png", image)
            save_image(root / f"{split}annot" / f"{name}.png", label)
            written[name] = (image, label)
            lines.append(f"/SegNet/CamVid/{split}/{name}.png /SegNet/CamVid/{split}annot/{name}.png\n")
        root.mkdir(parents=True, exist_ok=True)
        (root / f"{split}.txt").write_text("".join(lines))
    return written


def make_binary_masks(
    root: Path, names: list[str], size=(32, 32), seed=0, list_name="list.txt"
) -> dict[str, np.ndarray]:
    """Images with 0/255 masks (a disc of 255 on 0, as many tools export them) and ``root/list_name``.

    Returns ``{name: mask}``; every mask holds both values.
    """
    rng = np.random.default_rng(seed)
    masks = {}
    rows = []
    for name in names:
        height, width = size
        cy, cx = rng.integers(height // 4, 3 * height // 4), rng.integers(width // 4, 3 * width // 4)
        yy, xx = np.mgrid[:height, :width]
        mask = np.where((yy - cy) ** 2 + (xx - cx) ** 2 <= (min(size) // 4) ** 2, 255, 0).astype(np.uint8)
        save_image(root / "images" / f"{name}.jpg", smooth_image(rng, height, width))
        save_image(root / "masks" / f"{name}.png", mask)
        masks[name] = mask
        rows.append(f"images/{name}.jpg masks/{name}.png\n")
    (root / list_name).write_text("".join(rows))
    return masks


def blocks_of(rng: np.random.Generator, values, height: int, width: int, block: int = 2) -> np.ndarray:
    """``block`` x ``block`` squares of ``values`` (each at least once if there is room), in random order."""
    rows, cols = -(-height // block), -(-width // block)
    values = np.asarray(values)
    cells = rng.choice(values, rows * cols)
    cells[: min(len(values), len(cells))] = values[: len(cells)]
    cells = rng.permutation(cells).reshape(rows, cols)
    return cells.repeat(block, 0).repeat(block, 1)[:height, :width]


CITYSCAPES_IDS = [-1, *range(34)]  # every labelId; -1 (license plate) is stored as 255 in 8 bits


def make_cityscapes(
    root: Path, splits: dict[str, dict[str, int]], size=(16, 32), seed=0, train_ids=()
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Writes Cityscapes as downloaded: ``leftImg8bit/<split>/<city>/<city>_000000_<n>_leftImg8bit.png`` and
    ``gtFine/<split>/<city>/..._gtFine_{labelIds,color,instanceIds}.png`` and ``..._gtFine_polygons.json``.

    Args:
        splits: ``{split: {city: number of images}}``.
        train_ids: Stems (``aachen_000000_000000``) that also get a ``_gtFine_labelTrainIds.png``, holding train
            ids that no labelIds lookup would give (``(row + col) % 19``, 255 on the first row).

    Returns:
        ``{stem: (image, labelIds as int64, -1 included)}``; every labelId and -1 occur in each label.
    """
    rng = np.random.default_rng(seed)
    written = {}
    for split, cities in splits.items():
        for city, count in cities.items():
            for n in range(count):
                stem = f"{city}_000000_{19 * (n + 1):06d}"
                image = smooth_image(rng, *size)
                label_ids = blocks_of(rng, CITYSCAPES_IDS, *size).astype(np.int64)
                save_image(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", image)
                labels = root / "gtFine" / split / city
                save_image(labels / f"{stem}_gtFine_labelIds.png", (label_ids & 255).astype(np.uint8))
                save_image(labels / f"{stem}_gtFine_color.png", rng.integers(0, 256, (*size, 3), dtype=np.uint8))
                save_image(labels / f"{stem}_gtFine_instanceIds.png", (label_ids.clip(0) * 1000).astype(np.uint16))
                (labels / f"{stem}_gtFine_polygons.json").write_text('{"objects": []}')
                if stem in train_ids:
                    yy, xx = np.mgrid[: size[0], : size[1]]
                    trainid = ((yy + xx) % 19).astype(np.uint8)
                    trainid[0] = 255
                    save_image(labels / f"{stem}_gtFine_labelTrainIds.png", trainid)
                written[stem] = (image, label_ids)
    return written


def make_ade20k(root: Path, splits: dict[str, int], size=(12, 16), seed=0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Writes ``root/ADEChallengeData2016`` as distributed: ``images/{training,validation}/ADE_<split>_<n>.jpg``
    and ``annotations/.../ADE_<split>_<n>.png`` (8-bit, 0 = other objects, 1..150), plus its info files.

    Args:
        splits: ``{"train": count, "val": count}``.

    Returns:
        ``{name: (image, annotation)}``; every annotation holds 0 and 150.
    """
    rng = np.random.default_rng(seed)
    tree = root / "ADEChallengeData2016"
    written = {}
    for split, count in splits.items():
        folder = {"train": "training", "val": "validation"}[split]
        for n in range(count):
            name = f"ADE_{split}_{n + 1:08d}"
            image = smooth_image(rng, *size)
            annotation = blocks_of(rng, [0, 150, *rng.integers(1, 151, 10)], *size).astype(np.uint8)
            save_image(tree / "images" / folder / f"{name}.jpg", image)
            save_image(tree / "annotations" / folder / f"{name}.png", annotation)
            written[name] = (image, annotation)
    (tree / "objectInfo150.txt").write_text("Idx\tRatio\tTrain\tVal\tName\n1\t0.1576\t11664\t1172\twall\n")
    (tree / "sceneCategories.txt").write_text("".join(f"{name} bedroom\n" for name in written))
    return written


COCOSTUFF_UNUSED = [11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90]


def make_cocostuff(
    root: Path, splits: dict[str, int], size=(12, 16), seed=0, label_dir="stuffthingmaps_trainval2017"
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Writes COCO-Stuff 164k as downloaded: ``images/{train2017,val2017}/<12 digits>.jpg`` and
    ``<label_dir>/{train2017,val2017}/<12 digits>.png`` (8-bit ids 0..181, 255 unlabeled).

    Returns:
        ``{name: (image, map)}``; every map holds 0, 181, 255 and an unused id (11 or 90).
    """
    rng = np.random.default_rng(seed)
    written = {}
    number = 9
    for split, count in splits.items():
        folder = f"{split}2017"
        for _ in range(count):
            name = f"{number:012d}"
            number += 7
            image = smooth_image(rng, *size)
            unused = (11, 90)[len(written) % 2]
            values = [0, 181, 255, unused, *rng.integers(0, 182, 12)]
            stuff = blocks_of(rng, values, *size).astype(np.uint8)
            save_image(root / "images" / folder / f"{name}.jpg", image)
            save_image(root / label_dir / folder / f"{name}.png", stuff)
            written[name] = (image, stuff)
    return written
