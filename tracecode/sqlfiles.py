"""Locate and read the SQL files shipped inside the package (``tracecode.sql``)."""

from __future__ import annotations

from importlib import resources


def read_sql(name: str) -> str:
    """Return the text of ``sql/<name>`` (e.g. ``schema.sql`` or ``rules/duplicate_upload.sql``)."""
    node = resources.files("tracecode.sql")
    for part in name.split("/"):
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


def list_sql(folder: str) -> list[str]:
    """Names (without .sql) of the SQL files in ``sql/<folder>``, sorted."""
    node = resources.files("tracecode.sql").joinpath(folder)
    return sorted(p.name[:-4] for p in node.iterdir() if p.name.endswith(".sql"))
