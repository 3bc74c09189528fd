"""Options shared by several commands, defined once."""

from __future__ import annotations

import sys

import click

from tracecode.store.database import checked_memory_limit, default_db_path

db_option = click.option(
    "--db", "db_path", default=default_db_path, show_default="$TRACECODE_DB or tracecode.duckdb",
    type=click.Path(dir_okay=False), help="The DuckDB database file (created on first ingest).")

quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")



def _memory_limit(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return checked_memory_limit(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


memory_option = click.option(
    "--memory-limit", default=None, metavar="SIZE", callback=_memory_limit,
    help="DuckDB memory limit, e.g. 4GB (default $TRACECODE_MEMORY_LIMIT or 4GB); DuckDB spills beyond it.")


def show_progress(quiet: bool) -> bool:
    """Progress bars on a terminal only; never when piped or with --quiet."""
    return not quiet and sys.stderr.isatty()


#: --close-days of check, scan and the Spark command: one range everywhere (ten years).
CLOSE_DAYS = click.IntRange(0, 3650)
