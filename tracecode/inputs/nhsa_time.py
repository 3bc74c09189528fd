"""The times NHSA messages send, as the text the ingest's SQL reads: China time (+08:00)."""

from __future__ import annotations

import datetime as dt
import re

CHINA = dt.timezone(dt.timedelta(hours=8))
_ISO_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
_NO_SPACE = re.compile(r"^(\d{4}-\d{2}-\d{2})(\d{2}:\d{2}:\d{2}(\.\d+)?)$")


def china_time(value: object) -> str:
    """A time as NHSA messages send it, as ``yyyy-MM-dd HH:mm:ss`` text in China time where the
    form is certain: epoch milliseconds (13 digits) or seconds (10 digits), ISO with an offset
    (converted to +08:00), ``yyyy-MM-ddHH:mm:ss`` (no space). Other forms pass unchanged (the
    ingest's SQL reads them)."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    text = str(value).strip()
    if isinstance(value, (int, float)) or text.isdigit() and len(text) in (10, 13):
        try:
            seconds = float(text) / (1000 if len(text.split(".")[0]) >= 13 else 1)
            return dt.datetime.fromtimestamp(seconds, CHINA).strftime("%Y-%m-%d %H:%M:%S")
        except (ValueError, OverflowError, OSError):
            return text
    if _ISO_OFFSET.match(text):
        try:
            moment = dt.datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            return text
        return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    match = _NO_SPACE.match(text)
    return f"{match.group(1)} {match.group(2)}" if match else text
