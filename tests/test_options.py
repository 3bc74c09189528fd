"""The shared options: one name, one set of values, one check, on every command that takes them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tracecode.cli import main

COMMANDS = ["ingest", "status", "check", "export", "scan", "report", "trace", "people", "rings", "synth",
            "spark check", "cases list", "cases show", "cases set", "cases export", "cases import", "cases sync"]
WITH_DB = ["ingest", "status", "check", "export", "scan", "report", "trace", "people", "rings"]
WITH_MONTH = ["check", "export", "report", "people", "rings", "spark check"]
WITH_MASK = ["export", "scan", "report", "trace", "people", "rings", "spark check"]
SPARK_ONLY = ["--input", "--master", "--spark-conf", "--to-parquet", "--kind", "--columns", "--out", "--force"]


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def help_text(command: str) -> str:
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_lang(command):
    text = help_text(command)
    assert "--lang [zh|en]" in text and "TRACECODE_LANG" in text


@pytest.mark.parametrize("command", WITH_DB)
def test_db_option_alike(command):
    assert "--db FILE" in help_text(command) or "--db PATH" in help_text(command)


@pytest.mark.parametrize("command", WITH_MASK)
def test_mask_and_no_mask_everywhere_alike(command):
    assert "--mask / --no-mask" in help_text(command)


@pytest.mark.parametrize("command", WITH_MASK + ["cases show", "ingest"])
def test_every_masking_command_takes_the_key_file(command):
    text = help_text(command)
    assert "--mask-key-file PATH" in text and "TRACECODE_MASK_KEY_FILE" in text


@pytest.mark.parametrize("command", ["check", "status", "cases import"])
def test_commands_that_mask_nothing_take_no_key_file(command):
    assert "--mask-key-file" not in help_text(command)


@pytest.mark.parametrize("command", WITH_MONTH)
@pytest.mark.parametrize("month", ["2026-13", "26-10", "october"])
def test_a_malformed_month_is_a_usage_error(tmp_path, command, month):
    args = {"export": ["--out", tmp_path / "o"], "report": ["--out", tmp_path / "r.html"],
            "spark check": ["--input", tmp_path, "--out", tmp_path / "o"]}.get(command, [])
    result = invoke(*command.split(), "--db", tmp_path / "x.duckdb", *args, "--month", month) \
        if command != "spark check" else invoke("spark", "check", *args, "--month", month)
    assert result.exit_code == 2, result.output
    assert "Usage: " in result.stderr and "Invalid value for '--month'" in result.stderr


def test_a_month_with_blanks_is_taken(tmp_path):
    result = invoke("check", "--db", tmp_path / "x.duckdb", "--month", " 2026-10 ")
    assert result.exit_code == 1 and "--month" not in result.stderr  # the database is missing, the month is fine


@pytest.mark.parametrize("rules", ["bogus", "duplicate_upload,bogus", ","])
def test_unknown_rules_are_a_usage_error(tmp_path, rules):
    result = invoke("check", "--db", tmp_path / "x.duckdb", "--rules", rules)
    assert result.exit_code == 2 and "Invalid value for '--rules'" in result.stderr


def test_spark_close_days_range():
    result = invoke("spark", "check", "--input", "x", "--out", "o", "--close-days", "3651")
    assert result.exit_code == 2 and "0<=x<=3650" in result.output


def test_check_help_shows_only_what_check_does():
    text = help_text("check")
    options = text.split("Options:")[1]
    for option in SPARK_ONLY:
        assert f"{option} " not in options, option
    assert "tracecode spark check" in text
    spark = help_text("spark check")
    for option in SPARK_ONLY:
        assert option in spark, option


@pytest.mark.parametrize("command", [["spark", "check"], ["check", "--engine", "spark"]])
def test_spark_check_and_its_alias_fail_alike_before_spark_starts(tmp_path, command):
    result = invoke(*command, "--input", tmp_path / "missing", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "no such file or folder" in result.stderr
    assert "Traceback" not in result.output


def test_spark_options_without_the_engine_are_a_usage_error(tmp_path):
    result = invoke("check", "--db", tmp_path / "x.duckdb", "--master", "local[2]")
    assert result.exit_code == 2 and "tracecode spark check" in result.stderr


def test_help_is_chinese_first():
    text = help_text("check")
    first = text.split("\n\n")[1].strip()
    assert first.startswith("运行检测规则")
    assert "输出语言" in text
