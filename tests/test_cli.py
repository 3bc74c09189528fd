"""Options shared by several commands take the same values everywhere."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tracecode.cli import main


@pytest.mark.parametrize("command", [["check"], ["scan", "--out", "out", "x.csv"]])
@pytest.mark.parametrize("days", ["999999999999", "-1", "3651"])
def test_close_days_out_of_range_is_a_usage_error(tmp_path, command, days):
    result = CliRunner().invoke(main, [*command, "--close-days", days], catch_exceptions=False)
    assert result.exit_code == 2
    assert "--close-days" in result.output and "0<=x<=3650" in result.output
