"""Staged output: files are written into a hidden folder inside the output folder and moved
into place at the end, so that a failed run leaves no half-written files (one rename per file
or folder, on the same file system)."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

STAGING_PREFIX = ".tracecode-staging-"


@contextmanager
def staging_folder(out_dir: Path) -> Iterator[Path]:
    """A new hidden folder ``out_dir/.tracecode-staging-<random>`` (``out_dir`` must exist),
    removed with whatever is left in it when the block ends, however it ends."""
    staging = Path(out_dir) / f"{STAGING_PREFIX}{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir()
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def move_files(staging: Path, out_dir: Path, names: Iterable[str]) -> None:
    """Move the staged files (or folders) called ``names`` that exist into ``out_dir``,
    replacing files of the same name there."""
    for name in names:
        src = staging / name
        if src.exists():
            os.replace(src, out_dir / name)


def replace_folder(staging: Path, out_dir: Path, name: str) -> None:
    """Drop ``out_dir/name`` (an earlier run's) and move the staged folder ``name``, when
    there is one, in its place."""
    old = out_dir / name
    if old.exists():
        shutil.rmtree(old)
    if (staging / name).exists():
        os.replace(staging / name, old)


def merge_folder(staging: Path, out_dir: Path, name: str, ours: Iterable[str]) -> None:
    """Move the staged folder ``name`` (one sub-folder per recipient) into ``out_dir``: one
    rename when ``out_dir/name`` does not exist; else (an earlier run's, kept with --force) the
    files called ``ours`` of its sub-folders are dropped (a sub-folder left empty with them),
    any other file kept, and the staged sub-folders' files moved in."""
    staged = staging / name
    if not staged.exists():
        return
    old = out_dir / name
    if not old.exists():
        os.replace(staged, old)  # one rename, however many sub-folders
        return
    ours = tuple(ours)
    for folder in old.iterdir():
        if folder.is_dir():
            for file in ours:
                (folder / file).unlink(missing_ok=True)
            if not any(folder.iterdir()):
                folder.rmdir()
    for folder in staged.iterdir():
        dest = old / folder.name
        dest.mkdir(exist_ok=True)
        for f in folder.iterdir():
            os.replace(f, dest / f.name)
