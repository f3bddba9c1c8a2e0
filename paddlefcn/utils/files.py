"""Atomic file and directory writes: readers never see half a file, and a crash never loses the old one."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from paddlefcn.errors import PaddleFCNError

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)$")


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


def write_dir_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Replaces the directory ``target`` with what ``write(directory)`` puts into a fresh directory.

    The files are written into the hidden ``.<name>.tmp-<pid>`` beside ``target`` and flushed to disk, the old
    ``target`` is renamed to ``.<name>.old-<pid>``, the new one into place, and the old one removed: a crash leaves
    either version whole, and ``finish_interrupted_writes`` completes the switch.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        sync_directory_files(tmp)  # on disk before the rename, so a power cut cannot leave empty files
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        sync_directory(target.parent)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def finish_interrupted_writes(directory: Path) -> None:
    """Completes or removes what ``write_dir_atomically`` calls of stopped processes left in ``directory``.

    A crash between its two renames leaves the target missing, the new contents complete (synced) in
    ``.<name>.tmp-<pid>`` and the previous ones in ``.<name>.old-<pid>``: the new contents are put in place,
    or the previous ones if only they remain. Other leftovers of stopped processes are removed; those of
    running processes are left alone. Safe when several ranks call it at once: what another got to first
    is skipped.
    """
    if not directory.is_dir():
        return
    found = [(m, path) for path in directory.iterdir() if (m := _LEFTOVER.match(path.name))]
    stopped = [(m, path) for m, path in found if not _running(int(m.group("pid")))]
    for m, path in sorted(stopped, key=lambda item: item[0].group("kind") != "tmp"):  # new contents first
        target = directory / m.group("name")
        interrupted = (directory / f".{target.name}.old-{m.group('pid')}").exists()
        if not target.exists() and (m.group("kind") == "old" or interrupted):
            try:
                os.replace(path, target)
                sync_directory(directory)
                continue
            except OSError:
                if not target.exists():
                    raise
                # another rank put the target in place first
        shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes one directory at a time and cleans up after itself
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
