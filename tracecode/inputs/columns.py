"""Canonical column names (the NHSA 3505/3506 field names) and the header spellings we accept."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

from tracecode.errors import ColumnMappingError

#: Every canonical input column, in the order exports use.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "fixmedins_code",
    "fixmedins_name",
    "med_list_codg",
    "fixmedins_hilist_id",
    "fixmedins_hilist_name",
    "fixmedins_bchno",
    "rtal_docno",
    "medins_prod_sel_no",
    "setl_id",
    "mdtrt_sn",
    "psn_no",
    "mdtrt_setl_type",
    "manu_lotnum",
    "manu_date",
    "expy_end",
    "trdn_flag",
    "sel_retn_cnt",
    "sel_retn_time",
    "drug_trac_codg",
    "price",
)

#: Input columns that only a 3507 delete record carries (not part of the sale layout synth writes).
DELETE_COLUMNS: tuple[str, ...] = ("inv_data_type",)
#: Every column a reader may produce.
INPUT_COLUMNS: tuple[str, ...] = CANONICAL_COLUMNS + DELETE_COLUMNS

#: Columns an input must have (after header mapping).
REQUIRED_COLUMNS: tuple[str, ...] = ("fixmedins_code", "rtal_docno", "drug_trac_codg", "sel_retn_time")
#: Columns a file of deletes (3507, --kind delete) must have: what names the withdrawn record.
REQUIRED_DELETE_COLUMNS: tuple[str, ...] = ("fixmedins_code", "fixmedins_bchno")


def required_columns(kind: str | None) -> tuple[str, ...]:
    """The columns a file of this --kind must have."""
    return REQUIRED_DELETE_COLUMNS if kind == "delete" else REQUIRED_COLUMNS

#: Chinese headers as they appear in pharmacy and bureau exports (first one is what we write).
CHINESE_HEADERS: dict[str, tuple[str, ...]] = {
    "fixmedins_code": ("定点医药机构编号", "定点医药机构编码", "定点医药机构代码", "医药机构编码", "定点机构编码",
                       "定点机构编号", "机构编码", "机构编号", "药店编码", "药店编号", "门店编码", "门店编号"),
    "fixmedins_name": ("定点医药机构名称", "医药机构名称", "定点机构名称", "机构名称", "药店名称", "门店名称"),
    "med_list_codg": ("医疗目录编码", "医保目录编码", "医保目录编号", "医保药品编码", "国家医保药品编码", "国家医保编码",
                      "医保编码", "医保代码"),
    "fixmedins_hilist_id": ("定点医药机构目录编号", "机构目录编号", "医药机构目录编码", "商品编码", "商品编号", "商品ID",
                            "药品编码", "院内编码"),
    "fixmedins_hilist_name": ("定点医药机构目录名称", "机构目录名称", "医药机构目录名称", "商品名称", "药品名称",
                              "药品通用名", "通用名", "品名"),
    "fixmedins_bchno": ("定点医药机构批次流水号", "批次流水号", "进销存流水号", "业务流水号", "流水号"),
    "rtal_docno": ("零售单据号", "零售单号", "单据号", "单据编号", "销售单号", "销售单据号", "销售单据编号", "小票号",
                   "票据号"),
    "medins_prod_sel_no": ("医药机构商品销售流水号", "原销售单据号", "原零售单据号", "原单据号", "原销售单号",
                           "商品销售流水号"),
    "setl_id": ("结算ID", "结算id", "结算编号", "结算单号", "医保结算ID", "医保结算号"),
    "mdtrt_sn": ("就医流水号", "就诊流水号"),
    "psn_no": ("人员编号", "参保人编号", "参保人员编号", "个人编号", "医保个人编号"),
    "mdtrt_setl_type": ("就诊结算类型", "结算类型", "医保结算类型", "结算方式"),
    "manu_lotnum": ("生产批号", "批号", "生产批次", "批次号"),
    "manu_date": ("生产日期",),
    "expy_end": ("有效期止", "有效期至", "有效期", "有效期截止", "失效日期"),
    "trdn_flag": ("拆零标志", "拆零标识", "是否拆零", "拆零", "拆零销售"),
    "sel_retn_cnt": ("销售/退货数量", "销售数量", "退货数量", "售出数量", "数量", "purc_retn_cnt", "采购/退货数量",
                     "采购数量"),
    "sel_retn_time": ("销售/退货时间", "销售时间", "退货时间", "销售日期", "退货日期", "交易时间", "单据日期",
                      "结算时间", "时间", "purc_retn_stoin_time", "采购/退货入库时间", "入库时间"),
    "drug_trac_codg": ("追溯码", "药品追溯码", "追溯码信息", "追溯码号", "药品追溯码信息", "电子监管码", "监管码"),
    "inv_data_type": ("进销存数据类型",),
    "price": ("单价", "价格", "finl_trns_pric", "pric", "销售单价", "零售价", "售价", "实际售价", "实际成交价", "成交价"),
}

#: Chinese label of each output column (for --headers zh).
LABELS_ZH: dict[str, str] = {col: names[0] for col, names in CHINESE_HEADERS.items()}


def column_label(col: str) -> str:
    """A column as a user reads it in an error: its Chinese header and its NHSA field name."""
    return f"{LABELS_ZH[col]} ({col})" if col in LABELS_ZH else col


def _header_key(header: str) -> str:
    return "".join(header.split()).strip("\ufeff\"'").lower()


_LOOKUP: dict[str, str] = {}
for _col in INPUT_COLUMNS:
    _LOOKUP[_header_key(_col)] = _col
for _col, _names in CHINESE_HEADERS.items():
    for _name in _names:
        _LOOKUP.setdefault(_header_key(_name), _col)


def canonical_name(header: str, extra: dict[str, str] | None = None) -> str | None:
    """Return the canonical column for an input header, or None when it is not one we know.

    ``extra`` maps more header spellings (from ``--columns``) to canonical names; it wins.
    """
    key = _header_key(header)
    if extra:
        for spelling, col in extra.items():
            if _header_key(spelling) == key:
                return col
    return _LOOKUP.get(key)


def load_column_mapping(path: Path | None) -> dict[str, str] | None:
    """Read a --columns file: TOML (``"header" = "canonical"``, optionally under [columns]) or
    a two-column CSV (header, canonical)."""
    if path is None:
        return None
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
            data = data.get("columns", data)
            mapping = {str(k): str(v) for k, v in data.items()}
        else:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
            if rows and [c.strip().lower() for c in rows[0][:2]] in (["header", "column"], ["header", "canonical"]):
                rows = rows[1:]
            mapping = {r[0].strip(): r[1].strip() for r in rows if len(r) >= 2}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ColumnMappingError(f"{path}: cannot read the column mapping: {exc}") from None
    unknown = sorted({v for v in mapping.values() if v not in INPUT_COLUMNS})
    if unknown:
        raise ColumnMappingError(
            f"{path}: unknown target column(s) {', '.join(unknown)}",
            hint="targets must be NHSA field names such as fixmedins_code, rtal_docno, drug_trac_codg, sel_retn_time",
        )
    return mapping
