"""The ``tracecode`` command line: a thin layer over the library.

Exit codes: 0 ok, 1 error, 2 usage, 3 findings (only with --fail-on-findings).
"""

from __future__ import annotations

import importlib
import sys

import click

from tracecode.errors import ExitCode, TracecodeError, WriteFailed, is_interrupt, write_failure
from tracecode.messages import DEFAULT_LANG, error_text, text

#: The key under which the --lang option keeps the language in Context.meta (shared with the
#: running command; tracecode.commands.options sets it).
LANG_KEY = "tracecode.lang"

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
    "spark": "tracecode.commands.spark",
}


#: Commands whose Ctrl-C message says what they leave behind (each writes in transactions or
#: stages its files); catalogue ids ``interrupted.<command>``.
INTERRUPT_NOTES = ("ingest", "check", "export", "scan")


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
            self._fail(ctx, exc)
        except (KeyboardInterrupt, RuntimeError) as exc:
            if not is_interrupt(exc):
                raise
            command = ctx.invoked_subcommand
            key = f"interrupted.{command}" if command in INTERRUPT_NOTES else "interrupted"
            click.echo(text(key, ctx.meta.get(LANG_KEY, DEFAULT_LANG)), err=True)
            ctx.exit(130)
        except Exception as exc:  # a full disk or a path not writable, wherever it was met
            failure = write_failure(exc)
            if failure is None:
                raise
            self._fail(ctx, failure)

    @staticmethod
    def _fail(ctx: click.Context, exc: TracecodeError) -> None:
        if isinstance(exc, WriteFailed):
            # A writer left half-open by the failed write (openpyxl's) fails again when it is
            # collected at exit; the one error line has said it all.
            sys.unraisablehook = lambda _: None
        lang = ctx.meta.get(LANG_KEY, DEFAULT_LANG)
        click.echo(text("error", lang, message=error_text(str(exc), lang)), err=True)
        if exc.hint:
            click.echo(text("hint", lang, hint=error_text(exc.hint, lang)), err=True)
        ctx.exit(ExitCode.ERROR)


@click.group(cls=TracecodeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tracecode")
def main() -> None:
    """在药店销售上传数据（医保 3505 销售 / 3506 退货）中查找重复使用的药品追溯码。
    Find re-used drug traceability codes in pharmacy sale uploads.

    \b
    医保局每月的流程 (a month at a bureau):
      tracecode ingest --db city.duckdb uploads/2026-10/*.csv
      tracecode check  --db city.duckdb --month 2026-10
      tracecode export --db city.duckdb --month 2026-10 --out out/2026-10 --per-pharmacy
      tracecode report --db city.duckdb --month 2026-10 --out report-2026-10.html
    药店在上传截止前自查 (a pharmacy's self-check):
      tracecode scan --out check/ my_export.xlsx

    \b
    每个命令都有 --lang zh|en（默认 zh，或环境变量 TRACECODE_LANG）。
    Every command takes --lang zh|en (default zh, or $TRACECODE_LANG).
    """


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
