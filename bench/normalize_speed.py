"""Normalise speed, old normaliser vs this one, on the same synthetic code cells.

The old one is the package ``tracecode/codes`` as it was at ``--ref`` (default: the last commit
before the GS1 identity work of issue 14), taken with ``git archive``; each side runs in its own
Python process over the same cells (written once as Arrow IPC), best of ``--repeat`` runs.

    python bench/normalize_speed.py --rows 1000000
    python bench/normalize_speed.py --rows 200000 --ref main --json out.json

Figures depend on the machine and its load; none are recorded in the repository yet.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
OLD_REF = "7670b81"  # before issue 14's GS1 identity

_CHILD = r"""
import sys, time, json
import pyarrow as pa
sys.path.insert(0, sys.argv[1])
from tracecode.codes.normalize_arrow import normalize_array
cells = pa.ipc.open_file(sys.argv[2]).read_all().column("code").combine_chunks()
best = None
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    normalize_array(cells)
    wall = time.perf_counter() - t0
    best = wall if best is None else min(best, wall)
print(json.dumps({"rows": len(cells), "wall_s": best}))
"""


def _gtin(rnd) -> str:
    body = "".join(rnd.choice("0123456789") for _ in range(13))
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def cells(rows: int, seed: int) -> pa.Array:
    """Code cells as uploads carry them: 90 % clean 20-digit codes, the rest GS1 in several
    spellings (parentheses, GS, ]d2 + GS, GS-less), an apostrophe, full-width digits,
    placeholders and Excel numbers; the rarer shapes repeat as they do in real months."""
    import random

    import numpy as np

    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    serials = rng.integers(0, 10**12, rows)
    codes = [f"8{n % 10**7:07d}{s:012d}" for n, s in zip(rng.integers(0, 10**7, rows), serials)]
    gtins = [_gtin(rnd) for _ in range(50)]
    alphabet = "0234568ABCDEFGHJKLMNPQRSTUVWXYZabcdef"
    for i in np.flatnonzero(rng.random(rows) >= 0.9):
        gtin, serial = rnd.choice(gtins), "".join(rnd.choice(alphabet) for _ in range(10))
        codes[i] = rnd.choice([
            f"(01){gtin}(17)271231(10)L{i % 97}(21){serial}",
            f"01{gtin}17271231\x1d21{serial}",
            f"]d201{gtin}1727123110L{i % 97}\x1d21{serial}",
            f"01{gtin}21{serial}",
            "'" + codes[i],
            codes[i].translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            "00000000000000000000", "无", f"8.{i % 10**6:06d}E+19",
        ])
    return pa.array(codes, pa.string())


def old_package(ref: str, into: Path) -> Path:
    """``tracecode/__init__.py`` and ``tracecode/codes`` at ``ref``, extracted under ``into``."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "tracecode/__init__.py", "tracecode/codes"],
                         check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into


def run(rows: int, ref: str, repeat: int, seed: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "cells.arrow"
        table = pa.table({"code": cells(rows, seed)})
        with pa.ipc.new_file(data, table.schema) as writer:
            writer.write_table(table)
        old = old_package(ref, tmp_path / "old")
        result = {}
        for name, path in (("old", old), ("new", ROOT)):
            out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(data), str(repeat)],
                                 check=True, capture_output=True, text=True).stdout
            result[name] = json.loads(out)
    result["ratio_new_over_old"] = result["new"]["wall_s"] / max(result["old"]["wall_s"], 1e-9)
    result["ref"] = ref
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ref", default=OLD_REF, help="git revision of the old normaliser")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = run(args.rows, args.ref, args.repeat)
    for name in ("old", "new"):
        r = result[name]
        print(f"{name}: {r['rows']} cells in {r['wall_s']:.3f} s ({r['rows'] / max(r['wall_s'], 1e-9):,.0f} cells/s)")
    print(f"new / old wall time: {result['ratio_new_over_old']:.2f} (the issue asks for at most 1.10)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
