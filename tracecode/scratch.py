"""Private scratch folders for data that must not outlive its process: ``scan``'s temporary
database holds the uploads' raw rows, insured-person ids unmasked.

Each folder is ``tracecode-scan-<random>`` in the system's temporary folder (mode 0700), holding
``.owner-lock``, an advisory lock its process keeps while it runs. The system drops the lock when
the process ends, however it ends (``kill -9`` included), so the folders whose lock can be taken
belong to no running process: every scan first removes those. A killed scan's data stays on disk
until the next scan starts, not for good.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:  # POSIX; on Windows a folder is removed by its own run only
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

PREFIX = "tracecode-scan-"
LOCK_NAME = ".owner-lock"
#: A folder without a lock (made by a tracecode before the lock, or killed in the moment between
#: creating its folder and locking it) is removed once it is this old.
UNLOCKED_AGE_SECONDS = 3600


@contextmanager
def scratch_folder(base: str | os.PathLike | None = None) -> Iterator[Path]:
    """A new private folder in ``base`` (default: the system's temporary folder), removed with
    everything in it when the block ends; what killed runs left in ``base`` is removed first."""
    base = Path(base or tempfile.gettempdir())
    sweep(base)
    # Made under a hidden name and renamed once locked: a sweep never sees a live folder unlocked.
    made = Path(tempfile.mkdtemp(prefix=f".{PREFIX}", dir=base))
    fd = os.open(made / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    folder = made
    try:
        if fcntl is not None:  # blocking: a sweep may hold it for a moment, never longer
            fcntl.flock(fd, fcntl.LOCK_EX)
        folder = made.with_name(made.name[1:])
        os.rename(made, folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def sweep(base: str | os.PathLike) -> list[Path]:
    """Remove the scratch folders in ``base`` whose process has ended (their lock can be taken),
    and unlocked ones older than UNLOCKED_AGE_SECONDS; only the user's own. Returns those removed."""
    if fcntl is None:  # pragma: no cover
        return []
    removed = []
    for folder in [*Path(base).glob(f"{PREFIX}*"), *Path(base).glob(f".{PREFIX}*")]:
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not folder.is_dir() or folder.is_symlink() or info.st_uid != os.getuid():
            continue
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDWR)
        except FileNotFoundError:
            if time.time() - info.st_mtime > UNLOCKED_AGE_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its scan is running
            os.close(fd)
            continue
        try:
            # a hidden folder may be a live run's before it locked: left to the age rule above
            if not folder.name.startswith(".") or time.time() - info.st_mtime > UNLOCKED_AGE_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        finally:
            os.close(fd)
    return removed
