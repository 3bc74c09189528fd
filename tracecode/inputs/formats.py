"""The reader of each upload format that :func:`tracecode.inputs.readers.detect_format` names,
each capped (:mod:`tracecode.inputs.caps`) so that no cell costs more than a cell may."""

from __future__ import annotations

from tracecode.inputs.caps import capped
from tracecode.inputs.nhsa_json import read_messages
from tracecode.inputs.readers import read_csv, read_parquet, read_xlsx

__all__ = ["READERS"]

READERS = {"csv": capped(read_csv), "xlsx": capped(read_xlsx), "json": capped(read_messages),
           "parquet": capped(read_parquet)}
