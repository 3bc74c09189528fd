"""The reader of each upload format that :func:`tracecode.inputs.readers.detect_format` names."""

from __future__ import annotations

from tracecode.inputs.nhsa_json import read_messages
from tracecode.inputs.readers import read_csv, read_parquet, read_xlsx

__all__ = ["READERS"]

READERS = {"csv": read_csv, "xlsx": read_xlsx, "json": read_messages, "parquet": read_parquet}
