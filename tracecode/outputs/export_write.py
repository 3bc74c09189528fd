"""The one writer of CSV files for Excel: header labels, the formula guard (in SQL for the
export's DuckDB ``COPY``, in Python for rows computed in Python), UTF-8 with BOM or GBK (one
encoder, characters GBK lacks written as '?' and reported), per-pharmacy files dealt out of one
sorted COPY, safe folder names."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Any, Sequence

import duckdb

from tracecode.errors import OutputError
from tracecode.faults import fault_point
from tracecode.inputs.columns import LABELS_ZH

ENCODINGS = ("utf-8-sig", "gbk")
#: A text cell starting with one of these is a formula to Excel: written with a leading '.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

#: Chinese headers of the columns that are not NHSA upload fields.
EXTRA_LABELS_ZH: dict[str, str] = {
    "rule": "规则",
    "severity": "严重程度",
    "label_zh": "规则名称",
    "first_seen": "首次出现时间",
    "last_seen": "最后出现时间",
    "occurrences": "出现次数",
    "pharmacies": "涉及药店数",
    "pharmacy_list": "涉及药店",
    "detail": "说明",
    "month": "月份",
    "flagged": "是否标记",
    "kind": "类型",
    "qty": "本码数量",
    "insured": "医保结算",
    "source_file": "来源文件",
    "src_line": "来源行号",
    "code_raw": "原始追溯码",
    "field": "字段",
    "reason": "原因",
    "raw_value": "原始值",
    "raw_record": "原始记录",
    "rows_uploaded": "上传行数",
    "rows_rejected": "拒收记录数",
    "flagged_rows": "标记行数",
    "flagged_share": "标记比例",
    "flagged_amount": "标记金额(元)",
    "deletes": "删除记录数(3507)",
    "withdrawn": "已被删除撤销(3507)",
    "purchases_loaded": "已载入采购数据(1是0否)",
    "amount": "金额(元)",
    "sales": "销售次数",
    "quantity": "数量",
    "folder": "文件夹",
}

#: Code and id columns: each non-empty cell is written with one leading tab, so that a spreadsheet
#: opened by double-click keeps it as text (every digit) instead of a number. A program gets the
#: exact value back by one rule: remove one leading tab (:func:`exact`).
TEXT_ID_COLUMNS = frozenset({
    "drug_trac_codg", "code_raw", "setl_id", "psn_no", "rtal_docno", "fixmedins_code", "med_list_codg",
    "mdtrt_sn", "fixmedins_bchno", "raw_value", "source", "target",
})
TEXT_LEAD = "\t"

#: Windows device names, superscript digits included (Windows treats COM¹ like COM1).
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in "0123456789¹²³")}
PHARMACY_DIR = "pharmacies"


def label(column: str, headers: str, rule_labels: dict[str, str] | None = None) -> str:
    """The header of ``column`` for --headers nhsa (itself) or zh."""
    if headers != "zh":
        return column
    if rule_labels and column in rule_labels:
        return rule_labels[column]
    return LABELS_ZH.get(column) or EXTRA_LABELS_ZH.get(column) or column


def guard(expr: str, first: str | None = None) -> str:
    """Excel must not read a text cell as a formula: prefix ' to = + - @ tab CR. ``first`` is an
    expression with the same first character as ``expr``, cheaper to compute (the raw id under a
    mask). A chain of = tests, not IN, which DuckDB plans as one join per column."""
    lead = f"left({first or expr}, 1)"
    test = " OR ".join(f"{lead} = '{c}'" for c in FORMULA_LEADS)
    return f"CASE WHEN {test} THEN '''' || {expr} ELSE {expr} END"


def cell(value: Any) -> Any:
    """A value as the text of a CSV cell computed in Python: None empty, floats to 4 places
    without trailing zeros, text Excel would read as a formula with a leading '."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""
    text = str(value)
    if text[:1] in FORMULA_LEADS:
        return "'" + text
    return text


def exact(text: str) -> str:
    """The exact value of a code or id cell read from a tracecode CSV: one leading tab removed."""
    return text[1:] if text.startswith(TEXT_LEAD) else text


def text_ids(select: str, names: Sequence[str]) -> str:
    """``select`` with each code and id column among ``names`` led by a tab (NULL and empty stay)."""
    ids = [n for n in names if n in TEXT_ID_COLUMNS]
    if not ids:
        return select
    replace = ", ".join(f"CASE WHEN CAST({n} AS VARCHAR) = '' THEN '' ELSE chr(9) || CAST({n} AS VARCHAR) END AS {n}"
                        for n in ids)
    return f"SELECT * REPLACE ({replace})\nFROM (\n{select}\n)"


def csv_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


def header_line(names: list[str], headers: str, rule_labels: dict[str, str] | None = None) -> str:
    return ",".join(csv_quote(label(n, headers, rule_labels)) for n in names) + "\n"


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def bound(sql: str, params: dict) -> dict:
    """The parameters ``sql`` uses (DuckDB refuses unused ones); whole-line ``--`` comments (a SQL
    file's header) do not count."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", code)}


def copy_csv(con: duckdb.DuckDBPyConnection, select: str, params: dict, target: Path, prefix: str) -> int:
    """COPY a query to ``target`` as UTF-8 CSV whose first bytes are ``prefix`` (BOM and
    header: DuckDB's own HEADER cannot follow a BOM). Returns the rows written."""
    options = f"FORMAT csv, HEADER false, DELIMITER ',', PREFIX {sql_string(prefix)}, SUFFIX {sql_string(chr(10))}"
    rows = con.execute(f"COPY ({select}) TO $target ({options})", {**bound(select, params), "target": str(target)}).fetchall()
    count = int(rows[0][0]) if rows else 0
    if count == 0:
        target.write_bytes(prefix.encode("utf-8"))  # COPY writes prefix + suffix for no rows
    return count


def transcode_gbk(src: Path, dst: Path, shown: str) -> str | None:
    """Re-encode UTF-8 ``src`` as GBK into ``dst``, streaming. Characters GBK lacks are written
    as '?' and reported (file and lines) in the returned warning."""
    bad_lines: list[int] = []
    bad_chars: set[str] = set()
    line = 1
    tail = ""
    with open(src, encoding="utf-8", newline="") as fin, open(dst, "wb") as fout:
        while True:
            chunk = fin.read(1 << 20)
            if not chunk:
                break
            chunk = tail + chunk
            cut = chunk.rfind("\n") + 1  # whole lines only, so that bad characters get a line number
            if cut == 0:
                tail = chunk
                continue
            part, tail = chunk[:cut], chunk[cut:]
            line = _encode_lines(part, fout, line, bad_lines, bad_chars)
        if tail:
            _encode_lines(tail, fout, line, bad_lines, bad_chars)
    return _gbk_warning(shown, bad_lines, bad_chars) if bad_lines else None


def _gbk_warning(shown: str, bad_lines: list[int], bad_chars: set[str]) -> str:
    lines = ", ".join(str(n) for n in bad_lines[:10]) + (" …" if len(bad_lines) > 10 else "")
    chars = "".join(sorted(bad_chars))[:20]
    return (f"{shown}: {len(bad_lines)} line(s) hold characters GBK cannot encode ({chars}), written as '?' "
            f"(line {lines}); use --encoding utf-8-sig to keep them")


def _tagged_records(lines):
    """Group the lines of a CSV whose first field is a pidx into (pidx, [record lines without
    the pidx]); a quoted field may span lines (the record ends when its quotes balance)."""
    current, rows, open_quote = None, [], False
    for raw in lines:
        if open_quote:
            rows[-1] += raw
        else:
            cut = raw.index(b",")
            pidx = int(raw[:cut])
            if pidx != current:
                if current is not None:
                    yield current, rows
                current, rows = pidx, []
            raw = raw[cut + 1:]
            rows.append(raw)
        if raw.count(b'"') % 2:
            open_quote = not open_quote
    if current is not None:
        yield current, rows


def gbk_encode(text: str) -> tuple[bytes, set[str]]:
    """``text`` as GBK bytes, characters GBK lacks written as '?'; and those characters."""
    try:
        return text.encode("gbk"), set()
    except UnicodeEncodeError:
        pass
    missing = set()
    for ch in text:
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            missing.add(ch)
    return text.encode("gbk", errors="replace"), missing


def _encode_lines(text: str, out, line: int, bad_lines: list[int], bad_chars: set[str]) -> int:
    try:
        out.write(text.encode("gbk"))
        return line + text.count("\n")
    except UnicodeEncodeError:
        pass
    for piece in text.splitlines(keepends=True):
        data, missing = gbk_encode(piece)
        if missing:
            bad_lines.append(line)
            bad_chars |= missing
        out.write(data)
        line += piece.count("\n")
    return line


def write_csv(path: str | Path, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
              encoding: str = "utf-8-sig", headers: str = "nhsa", labels_zh: dict[str, str] | None = None) -> list[str]:
    """Write one CSV file for Excel from rows computed in Python (each value through
    :func:`cell`), UTF-8 with BOM or GBK. Returns warnings (characters GBK cannot encode are
    written as '?')."""
    if encoding not in ENCODINGS:
        raise OutputError(f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    names = [((labels_zh or {}).get(c, c) if headers == "zh" else c) for c in columns]
    ids = [c in TEXT_ID_COLUMNS for c in columns]

    def cells(row: Sequence[Any]) -> list[Any]:
        out = [cell(v) for v in row]
        return [TEXT_LEAD + v if is_id and v else v for v, is_id in zip(out, ids)]

    path = Path(path)
    bad: list[int] = []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def record(values: Sequence[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(values)
        return buf.getvalue()

    with open(path, "wb") as out:
        if encoding == "utf-8-sig":
            out.write(record(names).encode("utf-8-sig"))
            for row in rows:
                out.write(record(cells(row)).encode("utf-8"))
        else:
            out.write(gbk_encode(record(names))[0])
            for n, row in enumerate(rows, start=2):
                data, missing = gbk_encode(record(cells(row)))
                if missing:
                    bad.append(n)
                out.write(data)
    if bad:
        return [f"{path.name}: {len(bad)} line(s) hold characters GBK cannot encode, written as '?' "
                f"(line {', '.join(map(str, bad[:10]))}); use --encoding utf-8-sig to keep them"]
    return []


def folder_names(codes: list[str]) -> list[str]:
    """A safe, distinct folder name per pharmacy code: letters, digits, - and _ only (no '..',
    no separators, no Windows device names); a changed or clashing name gets a hash suffix."""
    names, seen = [], set()
    for code in codes:
        safe = "".join(c if (c.isalnum() and c.isprintable()) or c in "-_" else "_" for c in code)[:80]
        if safe.startswith("-"):  # not an option to the tools that will read the path
            safe = "_" + safe[1:]
        if not safe or safe != code or safe.split(".")[0].upper() in WINDOWS_RESERVED or safe.lower() in seen:
            safe = f"{safe or 'pharmacy'}_{hashlib.sha256(code.encode('utf-8')).hexdigest()[:8]}"
        n = 2
        base = safe
        while safe.lower() in seen:  # case-insensitive file systems
            safe, n = f"{base}_{n}", n + 1
        seen.add(safe.lower())
        names.append(safe)
    return names


class CsvWriter:
    """Writes query results as CSV files into ``folder`` in the chosen encoding; collects the
    warnings of the GBK re-encode."""

    def __init__(self, con: duckdb.DuckDBPyConnection, folder: Path, encoding: str, headers: str,
                 rule_labels: dict[str, str] | None = None):
        self.con, self.folder, self.encoding, self.headers = con, folder, encoding, headers
        self.rule_labels = rule_labels or {}
        self.warnings: list[str] = []

    def prefix(self, names: list[str]) -> str:
        bom = "\ufeff" if self.encoding == "utf-8-sig" else ""
        return bom + header_line(names, self.headers, self.rule_labels)

    def file(self, name: str, select: str, params: dict, names: list[str]) -> int:
        target = self.folder / name
        utf8 = target if self.encoding == "utf-8-sig" else self.folder / (name + ".utf8")
        count = copy_csv(self.con, text_ids(select, names), params, utf8, self.prefix(names))
        if utf8 != target:
            self._gbk(utf8, target, name)
        fault_point("export.file")
        return count

    def partitions(self, name: str, select: str, params: dict, names: list[str], folders: list[str]) -> None:
        """One file per pharmacy folder; pharmacies without rows get the header alone.

        One COPY writes every pharmacy's rows, tagged with its pidx and sorted by it (a plain
        COPY keeps the ORDER BY); one pass then deals the lines out to the folders. A
        partitioned COPY would not keep the order within a file, and costs a folder and a file
        rename per pharmacy more, which is what dominates with thousands of pharmacies.
        """
        tagged = self.folder / f"{name}.tagged"
        self.con.execute(f"COPY ({text_ids(select, names)}) TO $target (FORMAT csv, HEADER false, DELIMITER ',')",
                         {**bound(select, params), "target": str(tagged)}).fetchall()
        header = self.prefix(names)
        header_bytes = header.encode("utf-8") if self.encoding == "utf-8-sig" else header.encode("gbk")
        root = self.folder / PHARMACY_DIR
        done = set()
        with open(tagged, "rb") as lines:
            for pidx, rows in _tagged_records(lines):
                shown = f"{PHARMACY_DIR}/{folders[pidx]}/{name}"
                with open(root / folders[pidx] / name, "wb", buffering=1 << 16) as out:
                    out.write(header_bytes)
                    if self.encoding == "utf-8-sig":
                        out.writelines(rows)
                    else:
                        self._gbk_lines(rows, out, shown)
                done.add(pidx)
        tagged.unlink()
        for pidx, folder in enumerate(folders):
            if pidx not in done:
                (root / folder / name).write_bytes(header_bytes)
        fault_point("export.file")

    def _gbk_lines(self, rows, out, shown: str) -> None:
        bad_lines: list[int] = []
        bad_chars: set[str] = set()
        line = 2  # after the header
        for row in rows:
            line = _encode_lines(row.decode("utf-8"), out, line, bad_lines, bad_chars)
        if bad_lines:
            self.warnings.append(_gbk_warning(shown, bad_lines, bad_chars))

    def _gbk(self, utf8: Path, target: Path, shown: str) -> None:
        warning = transcode_gbk(utf8, target, shown)
        utf8.unlink()
        if warning:
            self.warnings.append(warning)
