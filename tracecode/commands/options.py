"""Options shared by several commands, defined once: the same name, values, checks and help
everywhere (``--db``, ``--month``, ``--mask/--no-mask``, ``--close-days``, ``--rules``,
``--lang``, ``--quiet``, ``--memory-limit``). A bad value is a usage error: click's message and
exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tracecode.errors import UnknownMonth
from tracecode.messages import DEFAULT_LANG, LANG_ENV, LANGS
from tracecode.messages import text as message
from tracecode.months import check_month_text
from tracecode.rules.catalogue import RULE_IDS
from tracecode.store.database import checked_memory_limit, default_db_path

#: Where the chosen language is kept for the run (Context.meta is shared by the group and its
#: command, so the error handler in cli.py reads it too).
LANG_KEY = "tracecode.lang"  # the same string as tracecode.cli.LANG_KEY (cli.py imports no command)

db_option = click.option(
    "--db", "db_path", default=default_db_path, show_default="$TRACECODE_DB or tracecode.duckdb",
    type=click.Path(dir_okay=False), help="数据库文件 DuckDB（首次 ingest 时创建）。The DuckDB database file.")

def _column_mapping(ctx: click.Context, param: click.Parameter, value: Path | None) -> dict[str, str] | None:
    from tracecode.inputs.columns import load_column_mapping

    return load_column_mapping(value)


columns_option = click.option(
    "--columns", "columns", type=click.Path(exists=True, dir_okay=False, path_type=Path), callback=_column_mapping,
    help="其他表头写法的映射文件 Header mapping: TOML (\"店号\" = \"fixmedins_code\") or CSV (header,canonical).")

quiet_option = click.option("--quiet", "-q", is_flag=True, help="不显示进度。No progress lines or bars.")


def _remember_lang(ctx: click.Context, param: click.Parameter, value: str) -> str:
    ctx.meta[LANG_KEY] = value
    return value


lang_option = click.option(
    "--lang", type=click.Choice(LANGS), default=DEFAULT_LANG, envvar=LANG_ENV, show_default=True,
    show_envvar=True, is_eager=True, expose_value=False, callback=_remember_lang,
    help="输出语言：zh 中文，en 英文（规则编号和列名不变）。Output language.")


def current_lang() -> str:
    """The --lang of the running command (zh outside a command)."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(LANG_KEY, DEFAULT_LANG) if ctx is not None else DEFAULT_LANG


def say(key: str, /, **params) -> str:
    """Catalogue message ``key`` in the running command's language."""
    return message(key, current_lang(), **params)


def scope_words(scope: str) -> str:
    """A checked scope as words: the month, or 'all months' for the scope 'all'."""
    return say("scope.all") if scope == "all" else scope


def _month(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_month_text(value)
    except UnknownMonth:
        raise click.BadParameter(message("bad_month", current_lang(), value=value)) from None


def month_option(help: str, required: bool = False):
    """--month YYYY-MM, checked before any work (a malformed month is a usage error)."""
    return click.option("--month", default=None, required=required, metavar="YYYY-MM", callback=_month, help=help)


def _rules(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    chosen = [r.strip() for r in value.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in RULE_IDS]
    if unknown or not chosen:
        raise click.BadParameter(message("bad_rules", current_lang(), unknown=", ".join(unknown) or repr(value),
                                         known=", ".join(RULE_IDS)))
    return ",".join(chosen)


rules_option = click.option(
    "--rules", "rules", default=None, metavar="RULE,RULE", callback=_rules,
    help=f"只运行这些规则（默认全部）。Only these rules (default: all): {', '.join(RULE_IDS)}.")

def _mask_key_file(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    from tracecode.privacy import use_key_file

    # None too: a key file of an earlier command in this process is dropped. A bad file raises
    # MaskKeyError: one Error line with a hint (cli.py).
    use_key_file(value)


mask_key_file_option = click.option(
    "--mask-key-file", type=click.Path(dir_okay=False), default=None, envvar="TRACECODE_MASK_KEY_FILE",
    show_envvar=True, expose_value=False, callback=_mask_key_file, metavar="PATH",
    help="用此文件中的密钥遮蔽人员编号（同一医保局的多个数据库遮蔽结果一致），而非各数据库自己的密钥。"
         "Mask ids with the key in this file instead of the database's own: the same person gets the same mask "
         "in every database of a bureau.")


def mask_option(command):
    """--mask/--no-mask and --mask-key-file."""
    command = mask_key_file_option(command)
    return click.option(
        "--mask/--no-mask", default=True, show_default=True,
        help="遮蔽人员编号（--no-mask 显示完整编号，供需处理的医保局工作人员使用）。Mask insured-person ids.")(command)


def _memory_limit(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return checked_memory_limit(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


memory_option = click.option(
    "--memory-limit", default=None, metavar="SIZE", callback=_memory_limit,
    help="DuckDB 内存上限，如 4GB（默认 $TRACECODE_MEMORY_LIMIT 或 4GB），超出部分写入磁盘。DuckDB memory limit.")


def show_progress(quiet: bool) -> bool:
    """Progress bars on a terminal only; never when piped or with --quiet."""
    return not quiet and sys.stderr.isatty()


#: --close-days of check, scan and the Spark command: one range everywhere (ten years).
CLOSE_DAYS = click.IntRange(0, 3650)

close_days_option = click.option(
    "--close-days", default=3, show_default=True, type=CLOSE_DAYS,
    help="cross_pharmacy_reuse：两家药店的销售相隔不超过此天数视为疑似假冒（复制追溯码），超过则视为疑似回流药。"
         "Sales at two pharmacies this close in days suggest a copied code.")
