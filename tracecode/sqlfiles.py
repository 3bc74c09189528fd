"""The SQL files shipped inside the package (``tracecode.sql``): reading them, their
``-- key: value`` headers, their ``$parameters``, and the checks every engine makes before
running one (bound values, valid identifiers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from tracecode.errors import RuleError

__all__ = ["SqlFile", "bind_params", "check_identifier", "list_sql", "parse_header", "read_sql", "sql_file",
           "sql_folders", "sql_params", "strip_semicolon"]


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


def sql_folders() -> list[str]:
    """The folders of ``sql/`` that hold SQL files, sorted."""
    root = resources.files("tracecode.sql")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(c.name.endswith(".sql") for c in p.iterdir()))


@dataclass(frozen=True)
class SqlFile:
    """One SQL file: its text, its header fields and the ``$parameters`` it uses."""

    name: str  # relation name: the rule id, or the stage file name without its NN_ prefix
    path: str  # inside the sql package, e.g. "rules/duplicate_upload.sql"
    sql: str
    meta: dict[str, str]
    params: frozenset[str]

    @property
    def needs(self) -> tuple[str, ...]:
        """The relations the file reads (its ``needs`` header)."""
        return tuple(n.strip() for n in self.meta.get("needs", "").split(",") if n.strip())


def sql_file(path: str, name: str) -> SqlFile:
    """Read ``sql/<path>`` as the relation ``name``."""
    text = read_sql(path)
    return SqlFile(name=name, path=path, sql=text, meta=parse_header(text), params=sql_params(text))


#: A header line: ``-- key: value``. An indented line (``--   more text``) continues the value
#: above, even when it holds a colon.
_HEADER_RE = re.compile(r"^-- ?([a-z_]+):\s?(.*)$")


def parse_header(sql: str) -> dict[str, str]:
    """Read ``-- key: value`` lines at the top of a SQL file (indented ``--`` lines continue
    the previous value)."""
    meta: dict[str, str] = {}
    last = None
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = _HEADER_RE.match(stripped)
        if match:
            last = match.group(1)
            meta[last] = match.group(2).strip()
        elif last is not None:
            meta[last] = (meta[last] + " " + stripped[2:].strip()).strip()
    return meta


def sql_params(sql: str) -> frozenset[str]:
    """The ``$name`` parameters of a SQL text, ignoring comments and string literals."""
    names = set()
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            j = i + 1
            while j < n:
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "$":
            match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql[i:])
            if match:
                names.add(match.group(1))
                i += len(match.group(0))
            else:
                i += 1
        else:
            i += 1
    return frozenset(names)


def bind_params(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The values of the parameters ``sql`` uses, out of ``params``; RuleError if one is missing."""
    used = sql_params(sql)
    missing = used - set(params or {})
    if missing:
        raise RuleError(f"no value for SQL parameter(s) {', '.join(sorted('$' + m for m in missing))}")
    return {k: v for k, v in (params or {}).items() if k in used}


def check_identifier(name: str) -> None:
    """RuleError unless ``name`` is a plain SQL identifier (a relation or column name)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RuleError(f"{name!r} is not a valid relation name")


def strip_semicolon(sql: str) -> str:
    """``sql`` without a trailing ``;`` (to nest it inside another statement)."""
    body = sql.rstrip()
    return body[:-1] if body.endswith(";") else body
