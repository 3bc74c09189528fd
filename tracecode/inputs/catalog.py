"""The optional drug catalogue: ``med_list_codg → product prefix(es), units per pack``.

A CSV with the header ``med_list_codg,code_prefix,pack_units`` (or the Chinese headers
医疗目录编码, 追溯码前缀, 最小包装数量), UTF-8 or GBK, as bureaus hold it. It feeds two rules:
split_overuse (units per pack) and product_mismatch (which drug a code's product id belongs
to). Without it, those rules use the fallbacks of docs/RULES.md.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from tracecode.errors import InputFileError

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["CATALOG_SCHEMA", "CATALOG_COLUMNS", "load_catalog", "read_catalog"]

#: The columns of a loaded catalogue with their DuckDB types (the Arrow schema: catalog_schema()).
CATALOG_COLUMNS = (("med_list_codg", "VARCHAR"), ("code_prefix", "VARCHAR"), ("pack_units", "DOUBLE"),
                   ("coded", "SMALLINT"))

_CATALOG_FIELDS = {
    "med_list_codg": ("med_list_codg", "医疗目录编码", "医保目录编码", "医保编码"),
    "code_prefix": ("code_prefix", "追溯码前缀", "产品标识", "product_id", "gtin"),
    "pack_units": ("pack_units", "最小包装数量", "包装数量", "units_per_pack"),
    "coded": ("coded", "是否赋码", "有追溯码", "需扫码", "追溯码管理"),
}
#: How a catalogue writes whether a drug carries a traceability code (uncoded_sale).
_CODED_VALUES = {"1": 1, "0": 0, "是": 1, "否": 0, "y": 1, "n": 0, "yes": 1, "no": 0, "true": 1, "false": 0}



def catalog_schema() -> "pa.Schema":
    """The Arrow schema of a loaded catalogue (pyarrow is imported on first use: commands that
    never read a catalogue, such as export, do not pay for it)."""
    import pyarrow as pa

    return pa.schema([("med_list_codg", pa.string()), ("code_prefix", pa.string()), ("pack_units", pa.float64()),
                      ("coded", pa.int16())])


def __getattr__(name: str):
    if name == "CATALOG_SCHEMA":
        return catalog_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _catalog_header_key(text: str) -> str:
    return "".join(text.split()).strip("\ufeff\"'").lower()


def load_catalog(path: str | Path) -> "pa.Table":
    """:func:`read_catalog` as an Arrow table (schema :func:`catalog_schema`)."""
    import pyarrow as pa

    drugs, prefixes, units, coded = read_catalog(path)
    return pa.table([pa.array(drugs, pa.string()), pa.array(prefixes, pa.string()), pa.array(units, pa.float64()),
                     pa.array(coded, pa.int16())], schema=catalog_schema())


def read_catalog(path: str | Path) -> tuple[list[str], list[str | None], list[float | None], list[int | None]]:
    """Read a catalogue CSV (``med_list_codg,code_prefix,pack_units,coded``; UTF-8 or GBK) into
    its four columns (CATALOG_COLUMNS). ``coded`` (是否赋码: 1/0, 是/否, Y/N) says whether the
    drug must carry a traceability code; empty: not said (uncoded_sale then goes by the drug
    code's class).

    One row per drug and product prefix; several rows per med_list_codg are allowed, and
    either of code_prefix / pack_units may be empty. code_prefix is the product id of the
    drug's codes: the first 7 digits of a 20-digit code, or a GTIN (8, 12, 13 or 14 digits,
    stored as GTIN-14). Raises InputFileError naming the file, line and field of a bad value.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such catalogue file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a catalogue file")
    raw = path.read_bytes()
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        raise InputFileError(f"{path}: the catalogue is not a UTF-8 or GBK text file")
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(reader, None)
    if header is None:
        raise InputFileError(f"{path}: the catalogue is empty",
                             hint="expected a header line med_list_codg,code_prefix,pack_units")
    lookup = {}
    for canonical, spellings in _CATALOG_FIELDS.items():
        for spelling in spellings:
            lookup[_catalog_header_key(spelling)] = canonical
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        canonical = lookup.get(_catalog_header_key(name))
        if canonical and canonical not in columns:
            columns[canonical] = i
    missing = [c for c in ("med_list_codg",) if c not in columns]
    if missing or not ({"code_prefix", "pack_units", "coded"} & set(columns)):
        raise InputFileError(
            f"{path}, line 1: the catalogue header must name med_list_codg and code_prefix, pack_units and/or coded "
            f"(found: {', '.join(h.strip() for h in header) or 'nothing'})")
    drugs, prefixes, units, coded = [], [], [], []
    for line_no, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue

        def cell(col: str) -> str:
            i = columns.get(col)
            return row[i].strip().strip("'\"").strip() if i is not None and i < len(row) else ""

        drug = cell("med_list_codg")
        if not drug:
            raise InputFileError(f"{path}, line {line_no}, field med_list_codg: empty")
        prefix = cell("code_prefix")
        if prefix:
            prefix = _checked_prefix(prefix, path, line_no)
        pack = cell("pack_units")
        pack_value = None
        if pack:
            try:
                pack_value = float(pack.replace(",", ""))
            except ValueError:
                raise InputFileError(f"{path}, line {line_no}, field pack_units: {pack!r} is not a number") from None
            if not pack_value > 0 or pack_value != pack_value or pack_value == float("inf"):
                raise InputFileError(f"{path}, line {line_no}, field pack_units: {pack!r} must be a positive number")
        flag = cell("coded")
        if flag and flag.lower() not in _CODED_VALUES:
            raise InputFileError(f"{path}, line {line_no}, field coded: {flag!r} must be 1 or 0 (是/否)")
        drugs.append(drug)
        prefixes.append(prefix or None)
        units.append(pack_value)
        coded.append(_CODED_VALUES[flag.lower()] if flag else None)
    return drugs, prefixes, units, coded


def _checked_prefix(prefix: str, path: Path, line_no: int) -> str:
    cleaned = prefix.replace(" ", "")
    if cleaned.startswith("(01)"):
        cleaned = cleaned[4:]
    if not cleaned.isdigit() or not cleaned.isascii():
        raise InputFileError(f"{path}, line {line_no}, field code_prefix: {prefix!r} is not a digit string",
                             hint="code_prefix is the 7-digit product prefix of a 20-digit code, or a GTIN")
    if len(cleaned) == 7 or len(cleaned) == 14:
        return cleaned
    if len(cleaned) in (8, 12, 13):
        return cleaned.zfill(14)
    raise InputFileError(
        f"{path}, line {line_no}, field code_prefix: {prefix!r} has {len(cleaned)} digits",
        hint="code_prefix is the 7-digit product prefix of a 20-digit code, or a GTIN (8, 12, 13 or 14 digits)")
