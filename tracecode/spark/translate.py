"""DuckDB SQL -> Spark SQL (sqlglot), refusing the shapes whose meaning differs between the
engines (docs/SPARK.md): the SQL files must stay in the portable subset."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from tracecode.errors import RuleError

if TYPE_CHECKING:  # pragma: no cover
    pass


#: Shapes whose meaning differs between DuckDB and Spark even when sqlglot translates the
#: syntax (docs/SPARK.md). Checked on the DuckDB text, outside comments and string literals.
#: Not refused, because safe where the files use it: a division by a decimal literal (DOUBLE
#: on DuckDB, exact DECIMAL on Spark) under FLOOR of an integer quotient; never print one.
DIFFERENT_MEANING: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"\bround\s*\(", re.I),
     "ROUND rounds a DOUBLE's binary value on DuckDB (1.15 -> 1.1) and a DECIMAL half-up on Spark (1.2)"),
    (re.compile(r"\bhash\s*\(", re.I), "hash() is a different function on DuckDB and on Spark"),
    (re.compile(r"\b(u?hugeint|uint\d+|ubigint|uinteger|usmallint|utinyint|int128)\b", re.I),
     "unsigned and 128-bit integer types do not exist on Spark"),
    (re.compile(r"\b(try_)?strptime\s*\(|\bstrftime\s*\(|\bepoch\w*\s*\(|\bto_microseconds\s*\(", re.I),
     "DuckDB date/time formatting functions have no Spark equivalent with the same patterns"),
    (re.compile(r"\bregexp_full_match\s*\(|\blist_\w+\s*\(|\blist\s*\(|\bunnest\s*\(", re.I),
     "a DuckDB-only function"),
    (re.compile(r"\bread_(csv|parquet|json)\w*\s*\(", re.I), "reads files: the engines read their input themselves"),
    (re.compile(r"\barg_(max|min)\s*\(", re.I), "arg_max/arg_min skip NULL values on DuckDB, max_by/min_by do not"),
    (re.compile(r"\bgroup\s+by\s+all\b|\bqualify\b|\bexclude\s*\(|::", re.I), "DuckDB-only syntax"),
)


def _code_only(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def check_portable(sql: str, where: str = "SQL") -> None:
    """Raise RuleError when ``sql`` uses a shape that means different things on the engines."""
    body = _code_only(sql)
    for pattern, why in DIFFERENT_MEANING:
        match = pattern.search(body)
        if match:
            raise RuleError(f"{where} cannot run on Spark as written ({match.group(0).strip()}): {why}",
                            hint="keep the SQL files in the portable subset (docs/SPARK.md)")


#: Engine functions the SQL files may call, which each runner defines for its engine (the
#: DuckDB runner: tracecode.rules.summaries.GUARD_HASH_DUCKDB). guard_hash(text) is a second 63-bit hash,
#: independent of code_key (XXH3): here xxhash64 (seed 42) shifted to 63 bits. Its values differ
#: from DuckDB's; no output shows them, and each run computes all of them itself.
ENGINE_FUNCTIONS: dict[str, str] = {
    "guard_hash": "SHIFTRIGHTUNSIGNED(XXHASH64({0}), 1)",
}


def _engine_function(node):
    from sqlglot import exp, parse_one

    if isinstance(node, exp.Anonymous) and str(node.name).lower() in ENGINE_FUNCTIONS:
        args = [a.sql(dialect="spark") for a in node.expressions]
        return parse_one(ENGINE_FUNCTIONS[str(node.name).lower()].format(*args), read="spark")
    return node


@functools.lru_cache(maxsize=256)
def translate(sql: str, where: str = "SQL") -> str:
    """The Spark SQL text of one DuckDB SELECT (comments dropped; ``$name`` -> ``:name``;
    engine functions such as guard_hash() replaced by their Spark definitions)."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    check_portable(sql, where)
    body = sql.rstrip().rstrip(";")
    try:
        trees = [t for t in sqlglot.parse(body, read="duckdb") if t is not None]
        if len(trees) != 1:
            raise RuleError(f"{where} holds {len(trees)} statements; a SQL file is one SELECT")
        return trees[0].transform(_engine_function).sql(dialect="spark", comments=False)
    except SqlglotError as exc:
        raise RuleError(f"{where}: sqlglot cannot translate it to Spark SQL: {str(exc).splitlines()[0]}") from None
