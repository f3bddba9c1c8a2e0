"""Atomic file writes: readers never see half a file, and a crash never loses the old one."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from paddlefcn.errors import PaddleFCNError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yields a temporary path beside ``path``; on success it is renamed onto ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it a new file's usual mode
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def check_output_dir(path: str | os.PathLike) -> Path:
    """``path`` as a directory to create or write into; raises if it, or a parent, exists as something else."""
    directory = Path(path)
    blocker = _first_existing(directory)
    if blocker is not None and not blocker.is_dir():
        where = "is a file" if blocker == directory else f"is under {blocker}, which is a file"
        raise PaddleFCNError(f"{directory} {where}, not a directory")
    return directory


def check_output_file(path: str | os.PathLike) -> Path:
    """``path`` as a file to (over)write; raises if it is a directory or a parent exists as a file."""
    file = Path(path)
    if file.is_dir():
        raise PaddleFCNError(f"{file} is a directory; give a file name")
    check_output_dir(file.parent)
    return file


def _first_existing(path: Path) -> Path | None:
    return next((candidate for candidate in (path, *path.parents) if candidate.exists()), None)


def sync_directory_files(directory: Path) -> None:
    """Flushes the files directly inside ``directory`` to disk, then the directory itself."""
    for path in directory.iterdir():
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    sync_directory(directory)


def sync_directory(directory: Path) -> None:
    """Flushes ``directory``'s entries (new names, renames) to disk; a no-op where directories cannot be opened."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
