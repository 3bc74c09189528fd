"""Months as the tool writes them ('YYYY-MM'), and the scope of a check over every month."""

from __future__ import annotations

import re

from tracecode.errors import UnknownMonth

__all__ = ["ALL_MONTHS", "HIGHEST_MONTH", "LOWEST_MONTH", "MONTH_RE", "check_month_text", "month_bounds"]

#: A month such as 2026-10.
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

#: The month scope label of a check over everything.
ALL_MONTHS = "all"

#: The bounds ($month_lo, $month_hi) of the scope 'all': below and above every month.
LOWEST_MONTH, HIGHEST_MONTH = "0000-00", "9999-99"


def check_month_text(month: object) -> str:
    """``month`` without surrounding blanks, if it is a month such as 2026-10; else UnknownMonth."""
    if isinstance(month, str):
        month = month.strip()
    if not isinstance(month, str) or not MONTH_RE.match(month):
        raise UnknownMonth(f"month {month!r} is not a month such as 2026-10 (YYYY-MM)")
    return month


def month_bounds(month: str | None) -> tuple[str, str, str]:
    """``(scope, month_lo, month_hi)`` of an already checked ``month``; None is every month."""
    if month is None:
        return ALL_MONTHS, LOWEST_MONTH, HIGHEST_MONTH
    return month, month, month
