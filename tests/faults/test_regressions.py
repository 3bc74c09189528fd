"""Issue 17 regressions, reproduced the way they were found (subprocesses, RLIMIT_FSIZE, a file
in the way, a killed run's leftovers, a held lock)."""

from __future__ import annotations

import fcntl
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import sale, write_csv


def run(*args: str, fsize: int | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    full_env = {**os.environ, "TRACECODE_LANG": "en", **(env or {})}
    return subprocess.run([sys.executable, "-m", "tracecode.cli", *args], capture_output=True, text=True,
                          preexec_fn=limit, env=full_env)


def one_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert any(line.startswith("Hint: ") for line in result.stderr.splitlines()), result.stderr
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes (a workbook's by name only: its zip entries carry the time written)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and p.suffix != ".xlsx" else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def checked(tmp_path) -> Path:
    rows = [sale(pharmacy=p, receipt=f"R{p}{i}", code=f"8123456789012345678{i}", psn=f"PSN{p}{i}")
            for p in ("P001", "P002") for i in range(3)]
    f = write_csv(tmp_path / "s.csv", rows)
    db = tmp_path / "t.duckdb"
    assert run("ingest", "-q", "--db", str(db), str(f)).returncode == 0
    assert run("check", "-q", "--db", str(db)).returncode == 0
    return db


def test_to_parquet_lake_gets_the_good_files_when_a_later_file_fails(tmp_path):
    good1 = write_csv(tmp_path / "good1.csv", [sale()])
    good2 = write_csv(tmp_path / "good2.csv", [sale(receipt="R2", code="81234567890123456780")])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    db, lake = str(tmp_path / "t.duckdb"), tmp_path / "lake"
    result = run("ingest", "--db", db, "--to-parquet", str(lake), str(good1), str(good2), str(empty))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert sorted(p.name for p in (lake / "files").iterdir()) == ["file_1.parquet", "file_2.parquet"]
    (lake / "files" / "file_2.parquet").unlink()  # as a run killed before writing the lake leaves it
    result = run("ingest", "--db", db, "--to-parquet", str(lake), str(good1))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (lake / "files").iterdir()) == ["file_1.parquet", "file_2.parquet"]


def test_export_force_with_a_file_where_a_pharmacy_folder_goes_changes_nothing(checked, tmp_path):
    out = tmp_path / "out"
    assert run("export", "--db", str(checked), "--out", str(out), "--per-pharmacy").returncode == 0
    folder = out / "pharmacies" / "P001"
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    folder.write_text("not a folder")
    before = snapshot(out)
    error = one_error(run("export", "--db", str(checked), "--out", str(out), "--per-pharmacy", "--force"))
    assert "nothing was changed" in error
    assert snapshot(out) == before


def test_a_killed_exports_staging_never_blocks_and_is_cleaned(checked, tmp_path):
    clean, out = tmp_path / "clean", tmp_path / "out"
    assert run("export", "--db", str(checked), "--out", str(clean), "--per-pharmacy").returncode == 0
    # the first point: killed while writing its files into the staging folder
    killed = run("export", "--db", str(checked), "--out", str(out), "--per-pharmacy", env={"TRACECODE_FAULT_AT": "1"})
    assert killed.returncode == -9
    assert [p.name for p in out.iterdir() if p.name.startswith(".tracecode-staging-")]
    result = run("export", "--db", str(checked), "--out", str(out), "--per-pharmacy", "--force")
    assert result.returncode == 0, result.stderr
    assert snapshot(out) == snapshot(clean)


def fault_points(tmp_path: Path, *args: str) -> list[str]:
    """The names of the fault points a run of ``args`` passes, in order (TRACECODE_FAULT_COUNT)."""
    count = tmp_path / "points.txt"
    count.unlink(missing_ok=True)
    assert run(*args, env={"TRACECODE_FAULT_COUNT": str(count)}).returncode == 0
    return count.read_text(encoding="utf-8").split()


def test_a_killed_move_is_finished_by_the_next_run(checked, tmp_path):
    clean, out = tmp_path / "clean", tmp_path / "out"
    points = fault_points(tmp_path, "export", "--db", str(checked), "--out", str(clean), "--per-pharmacy")
    moves = [str(i) for i, name in enumerate(points, 1) if name == "publish.move"]
    assert len(moves) >= 3
    for at in (moves[0], moves[2]):  # killed after the plan was written, part-way through the moves
        killed = run("export", "--db", str(checked), "--out", str(out), "--per-pharmacy", "--force",
                     env={"TRACECODE_FAULT_AT": at})
        assert killed.returncode == -9
        assert run("status", "--db", str(checked)).returncode == 0
        result = run("export", "--db", str(checked), "--out", str(out), "--per-pharmacy", "--force")
        assert result.returncode == 0, result.stderr
        assert snapshot(out) == snapshot(clean)


def test_a_second_export_into_a_folder_being_written_stops(checked, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / ".tracecode-lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        error = one_error(run("export", "--db", str(checked), "--out", str(out)))
    finally:
        os.close(fd)
    assert "another tracecode process is writing" in error
    assert [p.name for p in out.iterdir()] == [".tracecode-lock"]


def test_export_on_a_full_disk_is_one_error_and_no_folder(checked, tmp_path):
    out = tmp_path / "out"
    error = one_error(run("export", "--db", str(checked), "--out", str(out), fsize=2000))
    assert "write" in error and "larger than this system allows" in error
    assert not out.exists()


def scan_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("*tracecode-scan-*"))


def test_a_killed_scans_temporary_database_is_removed_by_the_next_scan(tmp_path):
    """The temporary database holds the raw rows (ids unmasked): a scan killed with SIGKILL leaves
    it, and the next scan removes it (its lock went with the killed process)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    f = write_csv(tmp_path / "s.csv", [sale(psn="PSN0000000001"), sale(receipt="R2", psn="PSN0000000002")])
    env = {"TMPDIR": str(tmp)}
    count = tmp_path / "points.txt"
    assert run("scan", "-q", "--out", str(tmp_path / "probe"), str(f),
               env={**env, "TRACECODE_FAULT_COUNT": str(count)}).returncode == 0
    assert scan_folders(tmp) == []  # an uninterrupted scan removes its own
    at = count.read_text(encoding="utf-8").split().index("check.step") + 1  # loaded, checking
    killed = run("scan", "-q", "--out", str(tmp_path / "killed"), str(f), env={**env, "TRACECODE_FAULT_AT": str(at)})
    assert killed.returncode == -9
    [left] = scan_folders(tmp)
    assert (left / "scan.duckdb").is_file() and left.stat().st_mode & 0o077 == 0  # private to its user
    result = run("scan", "-q", "--out", str(tmp_path / "again"), str(f), env=env)
    assert result.returncode == 0, result.stderr
    assert scan_folders(tmp) == []


def test_a_running_scans_folder_is_left_alone(tmp_path):
    from tracecode.scratch import scratch_folder

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    f = write_csv(tmp_path / "s.csv", [sale()])
    with scratch_folder(tmp) as running:
        (running / "scan.duckdb").write_bytes(b"in use")
        result = run("scan", "-q", "--out", str(tmp_path / "out"), str(f), env={"TMPDIR": str(tmp)})
        assert result.returncode == 0, result.stderr
        assert scan_folders(tmp) == [running] and (running / "scan.duckdb").read_bytes() == b"in use"
    assert scan_folders(tmp) == []


def test_a_folder_without_a_lock_is_removed_only_when_old(tmp_path):
    from tracecode.scratch import UNLOCKED_AGE_SECONDS, sweep

    young, old, other = tmp_path / "tracecode-scan-young", tmp_path / ".tracecode-scan-old", tmp_path / "mine"
    for folder in (young, old, other):
        folder.mkdir()
        (folder / "scan.duckdb").write_bytes(b"x")
    long_ago = time.time() - UNLOCKED_AGE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    assert sweep(tmp_path) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "tracecode-scan-young"]
