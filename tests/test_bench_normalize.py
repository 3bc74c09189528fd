"""bench/normalize_speed.py at a tiny size: both normalisers run on the same cells (no figures
are asserted: the machine's load decides them)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "normalize_speed.py"


def _has_ref(ref: str) -> bool:
    return subprocess.run(["git", "-C", str(BENCH.parent), "cat-file", "-e", f"{ref}^{{commit}}"],
                          capture_output=True, check=False).returncode == 0


def test_normalize_speed_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_normalize_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not _has_ref(module.OLD_REF):
        pytest.skip("the old normaliser's commit is not in this checkout")
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--rows", "2000", "--repeat", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "old: 2000 cells" in proc.stdout and "new: 2000 cells" in proc.stdout
    assert out.exists()
