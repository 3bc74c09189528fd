"""The ``tracecode`` command line: a thin layer over the library.

Exit codes: 0 ok, 1 error, 2 usage, 3 findings (only with --fail-on-findings).
"""

from __future__ import annotations

import importlib
import sys

import click

from tracecode.errors import ExitCode, TracecodeError, is_interrupt

#: command name -> module defining it. Modules load only when their command runs, so that
#: a quick command (`trace`) does not pay for importing pyarrow, numpy and the rest.
COMMAND_MODULES = {
    "ingest": "tracecode.commands.ingest",
    "status": "tracecode.commands.ingest",
    "synth": "tracecode.commands.ingest",
    "check": "tracecode.commands.check",
    "export": "tracecode.commands.export",
    "scan": "tracecode.commands.export",
    "report": "tracecode.commands.report",
    "trace": "tracecode.commands.trace",
    "people": "tracecode.commands.people",
    "rings": "tracecode.commands.people",
    "cases": "tracecode.commands.cases",
}


#: What Ctrl-C leaves behind, per command (each writes in transactions or stages its files).
INTERRUPTED = {
    "ingest": "Interrupted: the file being loaded was rolled back; the files loaded before it are kept.",
    "check": "Interrupted: the stored findings are as they were before this check.",
    "export": "Interrupted: the export did not finish; run it again (with --force if files were moved in).",
    "scan": "Interrupted: the scan did not finish; run it again (with --force if files were moved in).",
}


class TracecodeGroup(click.Group):
    """Loads commands lazily and turns the library's errors into ``Error: …`` lines and exit
    code 1, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(name)
        if module is None:
            return None
        return getattr(importlib.import_module(module), name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TracecodeError as exc:
            click.echo(f"Error: {exc}", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(ExitCode.ERROR)
        except (KeyboardInterrupt, RuntimeError) as exc:
            if not is_interrupt(exc):
                raise
            click.echo(INTERRUPTED.get(ctx.invoked_subcommand, "Interrupted."), err=True)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
