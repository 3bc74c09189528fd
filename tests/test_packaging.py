"""The wheel carries every module and every SQL file: a real (non-editable) install works."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    [wheel] = out.glob("tracecode-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_every_module_is_in_the_wheel(wheel_names):
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "tracecode").rglob("*.py")}
    assert modules - wheel_names == set()


def test_every_sql_file_is_in_the_wheel(wheel_names):
    sql = {"tracecode/sql/" + str(p.relative_to(ROOT / "sql")) for p in (ROOT / "sql").rglob("*.sql")}
    assert sql and sql - wheel_names == set()
