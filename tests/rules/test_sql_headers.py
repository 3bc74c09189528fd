"""Every SQL file under sql/ opens with a header in the one dialect the runner reads."""

from __future__ import annotations

import pytest

from tracecode.sqlfiles import list_sql, parse_header, read_sql, sql_folders

#: The kinds of header (the first key) and, for each, the keys it may and must have.
DIALECT = {
    "rule": ({"rule", "severity", "label_zh", "needs", "meaning", "evidence"},
             {"severity", "label_zh", "needs", "meaning"}),
    "stage": ({"stage", "persist", "needs", "meaning"}, {"needs", "meaning"}),
    "relation": ({"relation", "needs", "meaning"}, {"meaning"}),
}

SQL_FILES = [f"{folder}/{stem}.sql" for folder in sql_folders() for stem in list_sql(folder)]


def test_every_folder_is_read():
    assert {"schema", "ingest", "stages", "rules", "findings", "export", "analysis"} <= set(sql_folders())


@pytest.mark.parametrize("path", SQL_FILES)
def test_sql_file_has_a_header_in_the_dialect(path):
    meta = parse_header(read_sql(path))
    assert meta, f"sql/{path} has no -- key: value header"
    kind = next(iter(meta))
    assert kind in DIALECT, f"sql/{path}: the header starts with {kind!r}, not rule, stage or relation"
    allowed, required = DIALECT[kind]
    assert meta[kind], f"sql/{path}: -- {kind}: names nothing"
    assert set(meta) <= allowed, f"sql/{path}: {kind} headers have no {sorted(set(meta) - allowed)}"
    for key in sorted(required):
        assert meta.get(key), f"sql/{path}: the header has no {key}"
