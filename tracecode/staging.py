"""Staged output: files are written into a hidden folder inside the output folder and moved
into place at the end, so that a failed run leaves no half-written files (one rename per file
or folder, on the same file system).

While a command writes into a folder it holds ``.tracecode-lock`` there (an advisory lock the
system drops when the process dies), so two runs into one folder never mix their files: the
later stops with an error. :func:`publish` moves the staged files in by a plan written first
into the staging folder (``PLAN.json``), after checking that nothing in the way (a file where a
folder goes) would stop it half-way: a run killed while moving leaves the plan, and the next run
into the folder finishes it (every step can be done twice). A staging folder without a plan is
a run killed while writing: the next run into the folder removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from tracecode.errors import OutputError
from tracecode.faults import fault_point

try:  # POSIX; on Windows the folder is not locked (staging still keeps each run's output whole)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

STAGING_PREFIX = ".tracecode-staging-"
LOCK_NAME = ".tracecode-lock"
PLAN_NAME = "PLAN.json"
#: Entries of an output folder that are tracecode's own bookkeeping, not output.
HIDDEN_PREFIX = ".tracecode-"


def visible_entries(out_dir: Path) -> list[Path]:
    """The entries of ``out_dir`` other than tracecode's lock and staging folders."""
    return [p for p in Path(out_dir).iterdir() if not p.name.startswith(HIDDEN_PREFIX)]


@contextmanager
def folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir/.tracecode-lock`` for the block; another process holding it is an error."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = Path(out_dir) / LOCK_NAME
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot write into {out_dir}: {exc.strerror}",
                              hint="choose a folder you may write to") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(f"another tracecode process is writing into {out_dir}",
                              hint="wait for it to finish, or choose another output folder") from None
        try:  # the file may have been removed by the holder just before we locked it: retry
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        try:
            path.unlink()
        finally:
            os.close(fd)


def recover(out_dir: Path) -> None:
    """Finish or remove what killed runs left in ``out_dir`` (the caller holds its lock): a
    staging folder with a plan is moved in as planned, one without is removed."""
    for staging in Path(out_dir).glob(f"{STAGING_PREFIX}*"):
        if (staging / PLAN_NAME).is_file():
            _run_plan(Path(out_dir), staging)
        _remove(staging)


@contextmanager
def staging_folder(out_dir: Path, refuse_nonempty: bool = False) -> Iterator[Path]:
    """A new hidden folder ``out_dir/.tracecode-staging-<random>`` (``out_dir`` must exist),
    removed with whatever is left in it when the block ends, however it ends. ``out_dir`` is
    locked meanwhile and cleared of killed runs' leftovers first; with ``refuse_nonempty`` a
    folder holding anything else is refused (checked under the lock: of two runs into one empty
    folder, the later never overwrites the earlier)."""
    out_dir = Path(out_dir)
    with folder_lock(out_dir):
        recover(out_dir)
        if refuse_nonempty and visible_entries(out_dir):
            raise OutputError(f"output folder {out_dir} is not empty",
                              hint="choose an empty or new --out folder, or add --force to overwrite tracecode's files")
        staging = out_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir()
            yield staging
        finally:
            _remove(staging)


def _remove(staging: Path) -> None:
    """Remove a staging folder, its plan first: one killed while being removed is never replayed
    (its plan's set-aside and drop steps would act on the new output)."""
    (staging / PLAN_NAME).unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out_dir: Path, names: Iterable[str], folder: str | None = None,
            ours: Iterable[str] = (), replace: Iterable[str] = (), drop: Iterable[str] = ()) -> None:
    """Move the staged files (or folders) called ``names`` that exist into ``out_dir``, and the
    staged ``folder`` (one sub-folder per recipient) as :func:`merge_folder` does; the staged
    folders ``replace`` take the place of the folders of that name in ``out_dir`` (the old ones
    set aside into the staging folder, removed with it), and the entries ``drop`` of ``out_dir``
    are set aside likewise. All or nothing as far as the file system allows: every step is
    checked first (a file where a folder goes, or the reverse, is an error before anything
    moved), then written down as a plan that a killed run's successor finishes."""
    staging, out_dir = Path(staging), Path(out_dir)
    steps: list[list[str]] = [["drop", name] for name in drop]
    for name in replace:
        if (staging / name).is_dir():
            _check_kind(staging / name, out_dir / name)
            steps += [["set_aside", name], ["move", name, name]]
    for name in names:
        if (staging / name).exists():
            _check_kind(staging / name, out_dir / name)
            steps.append(["move", name, name])
    if folder is not None and (staging / folder).is_dir():
        steps += _merge_steps(staging, out_dir, folder, tuple(ours))
    plan = staging / PLAN_NAME
    plan.with_suffix(".tmp").write_text(json.dumps(steps), encoding="utf-8")
    os.replace(plan.with_suffix(".tmp"), plan)  # from here on the new output is the one to have
    fault_point("publish.plan")
    _run_plan(out_dir, staging)


def _check_kind(src: Path, dest: Path) -> None:
    if dest.exists() and src.is_dir() != dest.is_dir():
        what = "a file" if dest.is_file() else "a folder"
        raise OutputError(f"{dest} is {what} where tracecode writes {'a folder' if src.is_dir() else 'a file'}; "
                          "nothing was changed", hint=f"move {dest} away and run again")


def _merge_steps(staging: Path, out_dir: Path, name: str, ours: tuple[str, ...]) -> list[list[str]]:
    staged, old = staging / name, out_dir / name
    _check_kind(staged, old)
    if not old.exists():
        return [["move", name, name]]  # one rename, however many sub-folders
    steps, moved = [], set()
    for sub in sorted(staged.iterdir()):
        _check_kind(sub, old / sub.name)
        steps.append(["mkdir", f"{name}/{sub.name}"])
        for f in sorted(sub.iterdir()):
            _check_kind(f, old / sub.name / f.name)
            steps.append(["move", f"{name}/{sub.name}/{f.name}", f"{name}/{sub.name}/{f.name}"])
            moved.add((sub.name, f.name))
    for sub in sorted(old.iterdir()):
        if sub.is_dir():
            drop = [f for f in ours if (sub.name, f) not in moved and (sub / f).is_file()]
            steps += [["delete", f"{name}/{sub.name}/{f}"] for f in drop]
            if drop:
                steps.append(["rmdir_if_empty", f"{name}/{sub.name}"])
    return steps


def _run_plan(out_dir: Path, staging: Path) -> None:
    """Do the plan's steps; each can be done again after a kill (a move whose source is gone
    was done)."""
    for step in json.loads((staging / PLAN_NAME).read_text(encoding="utf-8")):
        op, target = step[0], out_dir / step[-1]
        if op == "move":
            if (staging / step[1]).exists():
                os.replace(staging / step[1], target)
                fault_point("publish.move")
        elif op == "set_aside":  # the old folder, while the new one is still staged
            if (staging / step[1]).exists() and target.exists():
                _set_aside(target, staging)
        elif op == "drop":
            if target.exists() or target.is_symlink():
                _set_aside(target, staging)
        elif op == "mkdir":
            target.mkdir(exist_ok=True)
        elif op == "delete":
            target.unlink(missing_ok=True)
        elif op == "rmdir_if_empty" and target.is_dir() and not any(target.iterdir()):
            target.rmdir()


def _set_aside(target: Path, staging: Path) -> None:
    """Move ``target`` into ``staging`` (removed with it): one rename, nothing deleted in place."""
    aside = staging / f".old-{target.name}"
    if aside.exists():
        shutil.rmtree(aside, ignore_errors=True)
    os.replace(target, aside)


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
