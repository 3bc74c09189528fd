"""The tables a Spark check builds from the whole history, kept in the Parquet layout so that
the next check reads each upload file once, ever — as the DuckDB store keeps them.

The ``persist`` stages (sql/stages: rule_dict, rule_events, repeat_rows, product_counts) are
written to append: each reads the files its table has not seen yet and returns the rows to
add. The DuckDB store keeps the tables between checks; a Spark check without them rebuilds
them from every month of the layout, so a December check would read the whole year again. This
module keeps them next to the events, as parts that each hold the rows one check added::

    DIR/summaries/p<time>-<id>/rule_dict/          Parquet, the tables of sql/schema/findings.sql
    DIR/summaries/p<time>-<id>/rule_events/
    DIR/summaries/p<time>-<id>/repeat_rows/
    DIR/summaries/p<time>-<id>/product_counts/
    DIR/summaries/p<time>-<id>/covered_files/      (file_id, fingerprint) of the files it added
    DIR/summaries/p<time>-<id>/_COMPLETE           written last: a part without it is ignored

A check reads the union of the complete parts and writes a part with what it added: its cost
follows the new files, not the history. The parts are rebuilt as one from every file when a
file they cover is no longer in the layout (or holds other content), or when two parts cover
the same file (two checks that ran at once): rows cannot be taken out of repeat_rows file by
file. Past MAX_PARTS parts, a check writes the whole as one part and deletes the others.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from tracecode.spark.layout import _FS, _join

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

SUMMARIES_DIR = "summaries"
COVERED = "covered_files"
COMPLETE = "_COMPLETE"
MAX_PARTS = 48


class SummaryStore:
    """The kept summaries of one Parquet layout (``root``: local path or Hadoop URL)."""

    def __init__(self, spark: "SparkSession", root: str):
        self.spark = spark
        self.root = _join(root, SUMMARIES_DIR)
        self.fs = _FS(spark, root)

    def parts(self) -> list[str]:
        """Complete parts, oldest first."""
        if not self.fs.exists(self.root):
            return []
        names = sorted(name for name, is_dir in self.fs.children(self.root) if is_dir and name.startswith("p"))
        return [n for n in names if self.fs.exists(_join(self.root, n, COMPLETE))]

    def load(self, tables: dict[str, object], files: "DataFrame") -> tuple[dict[str, "DataFrame"], "DataFrame"] | None:
        """The union of the complete parts' tables (``tables``: name -> Arrow schema) and the
        files they cover, or None when there is no part, a part lacks a table, two parts cover
        one file, or a covered file is no longer in ``files`` with the same content."""
        from pyspark.sql.pandas.types import from_arrow_schema

        parts = self.parts()
        if not parts:
            return None
        folders = [_join(self.root, p) for p in parts]
        if not all(self.fs.exists(_join(f, name)) for f in folders for name in (*tables, COVERED)):
            return None
        covered = self.spark.read.parquet(*[_join(f, COVERED) for f in folders]).select("file_id", "fingerprint")
        twice = covered.groupBy("file_id").count().filter("count > 1").limit(1).count()
        if twice or covered.join(files.select("file_id", "fingerprint"), ["file_id", "fingerprint"],
                                 "left_anti").limit(1).count():
            return None
        frames = {name: self.spark.read.schema(from_arrow_schema(schema)).parquet(*[_join(f, name) for f in folders])
                  for name, schema in tables.items()}
        return frames, covered

    def save(self, frames: dict[str, "DataFrame"], files: "DataFrame", *, replace: bool = False) -> str:
        """Write a part holding ``frames`` (the rows a check added) and ``files`` (the files it
        added), marker last. ``replace``: the frames are the whole tables; the other parts are
        deleted once this one is complete. Returns the part's folder."""
        old = self.parts()
        name = f"p{int(time.time() * 1000):015d}-{uuid.uuid4().hex[:8]}"
        folder = _join(self.root, name)
        for table, frame in frames.items():
            frame.write.mode("overwrite").parquet(_join(folder, table))
        files.select("file_id", "fingerprint").write.mode("overwrite").parquet(_join(folder, COVERED))
        self.fs.fs.create(self.fs.path(_join(folder, COMPLETE))).close()
        if replace:
            for part in old:
                try:
                    self.fs.fs.delete(self.fs.path(_join(self.root, part)), True)
                except Exception:  # noqa: BLE001 - a part left behind makes the next check rebuild
                    pass
        return folder
