"""The columns of events are declared once (sql/schema/store.sql); everything that lists them
agrees with a store's table."""

from __future__ import annotations

from tracecode.spark.layout import EVENT_COLUMNS, FILE_COLUMNS, REJECT_COLUMNS, names
from tracecode.store import ingest
from tracecode.store.database import open_store
from tracecode.store.schema import table_columns


def test_event_columns_agree_with_the_store(tmp_path):
    con = open_store(tmp_path / "s.duckdb")
    try:
        for table, spark in (("events", EVENT_COLUMNS), ("files", FILE_COLUMNS), ("rejects", REJECT_COLUMNS)):
            stored = [r[0] for r in con.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
            assert [name for name, _ in table_columns(table)] == stored
            assert names(spark) == stored
        assert [c.strip() for c in ingest.EVENT_COLUMNS.split(",")] == names(EVENT_COLUMNS)
    finally:
        con.close()
