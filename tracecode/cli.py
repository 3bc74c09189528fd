"""The ``tracecode`` command line: a thin layer over the library.

Exit codes: 0 ok, 1 error, 2 usage, 3 findings (only with --fail-on-findings).
"""

from __future__ import annotations

import sys

import click

from tracecode.errors import ExitCode, TracecodeError


class TracecodeGroup(click.Group):
    """Turns the library's errors into ``Error: …`` lines and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TracecodeError as exc:
            click.echo(f"Error: {exc}", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(ExitCode.ERROR)
        except KeyboardInterrupt:
            click.echo("Interrupted; the file being loaded was rolled back.", err=True)
            ctx.exit(130)


@click.group(cls=TracecodeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tracecode")
def main() -> None:
    """Find re-used drug traceability codes (药品追溯码) in pharmacy sale uploads
    (NHSA 3505 sales / 3506 returns).

    \b
    Typical month at a bureau (市医保局):
      tracecode ingest --db city.duckdb uploads/2026-10/*.csv
      tracecode check  --db city.duckdb --month 2026-10
      tracecode export --db city.duckdb --month 2026-10 --out out/2026-10 --per-pharmacy
    A pharmacy's self-check before the upload deadline:
      tracecode scan --out check/ my_export.xlsx
    """


def _register() -> None:
    from tracecode.commands import ingest as ingest_cmds

    for command in ingest_cmds.COMMANDS:
        main.add_command(command)
    for module in ("check", "export", "trace", "report", "people"):
        try:
            mod = __import__(f"tracecode.commands.{module}", fromlist=["COMMANDS"])
        except ModuleNotFoundError:
            continue
        for command in mod.COMMANDS:
            main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
