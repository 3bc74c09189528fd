"""The tables a Spark check builds from the whole history, kept in the Parquet layout so that
the next check reads each upload file once, ever — as the DuckDB store keeps them.

The ``persist`` stages (sql/stages: rule_dict, rule_events, repeat_rows, product_counts) are
written to append: each reads the files its table has not seen yet. The DuckDB store keeps
the tables between checks; a Spark check without them rebuilds them from every month of the
layout, so a December check would read the whole year again. This module stores them next
to the events::

    DIR/summaries/v<time>-<id>/rule_dict/          Parquet, the tables of sql/findings_schema.sql
    DIR/summaries/v<time>-<id>/rule_events/
    DIR/summaries/v<time>-<id>/repeat_rows/
    DIR/summaries/v<time>-<id>/product_counts/
    DIR/summaries/v<time>-<id>/covered_files/      (file_id, fingerprint) of the files they hold
    DIR/summaries/v<time>-<id>/_COMPLETE           written last: a version without it is ignored

A check reads the newest complete version. When a file it covers is no longer in the layout
(or holds other content), the tables are rebuilt from all files: rows cannot be taken out of
repeat_rows file by file. A new version is written only after a check that processed new
files; older versions are then deleted.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from tracecode.spark_engine import _FS, _join

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

SUMMARIES_DIR = "summaries"
COVERED = "covered_files"
COMPLETE = "_COMPLETE"


class SummaryStore:
    """The kept summaries of one Parquet layout (``root``: local path or Hadoop URL)."""

    def __init__(self, spark: "SparkSession", root: str):
        self.spark = spark
        self.root = _join(root, SUMMARIES_DIR)
        self.fs = _FS(spark, root)

    def versions(self) -> list[str]:
        """Complete versions, oldest first."""
        if not self.fs.exists(self.root):
            return []
        names = sorted(name for name, is_dir in self.fs.children(self.root) if is_dir and name.startswith("v"))
        return [n for n in names if self.fs.exists(_join(self.root, n, COMPLETE))]

    def load(self, tables: dict[str, "object"], files: "DataFrame") -> tuple[dict[str, "DataFrame"], "DataFrame"] | None:
        """The newest complete version's tables (``tables``: name -> Arrow schema) and its
        covered files, or None when there is none, it lacks a table, or a file it covers is
        no longer in ``files`` with the same content."""
        from pyspark.sql.pandas.types import from_arrow_schema

        versions = self.versions()
        if not versions:
            return None
        folder = _join(self.root, versions[-1])
        if not all(self.fs.exists(_join(folder, name)) for name in (*tables, COVERED)):
            return None
        covered = self.spark.read.parquet(_join(folder, COVERED)).select("file_id", "fingerprint")
        if covered.join(files.select("file_id", "fingerprint"), ["file_id", "fingerprint"], "left_anti").limit(1).count():
            return None  # a file was taken out of the layout, or replaced
        frames = {name: self.spark.read.schema(from_arrow_schema(schema)).parquet(_join(folder, name))
                  for name, schema in tables.items()}
        return frames, covered

    def save(self, frames: dict[str, "DataFrame"], files: "DataFrame") -> str:
        """Write a new version (the tables, then the files they cover, then the marker) and
        delete the older ones. Returns the version's folder."""
        old = self.versions()
        name = f"v{int(time.time() * 1000):015d}-{uuid.uuid4().hex[:8]}"
        folder = _join(self.root, name)
        for table, frame in frames.items():
            frame.write.mode("overwrite").parquet(_join(folder, table))
        files.select("file_id", "fingerprint").write.mode("overwrite").parquet(_join(folder, COVERED))
        self.fs.fs.create(self.fs.path(_join(folder, COMPLETE))).close()
        for version in old:
            try:
                self.fs.fs.delete(self.fs.path(_join(self.root, version)), True)
            except Exception:  # noqa: BLE001 - an old version left behind is ignored by readers
                pass
        return folder
