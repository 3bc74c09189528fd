"""The one message catalogue: every word a user reads, in Chinese (default) and English.

Two kinds of entries:

- ``MESSAGES``: what the program says (terminal lines, table headers, error prefixes), keyed by a
  stable id, ``(zh, en)`` side by side as ``str.format`` templates. A new line of output is one
  entry here and one ``text(id, lang, ...)`` call.
- ``STORED_PHRASES``: the texts the rules and the readers *store* (a finding's ``detail``, a
  reject's ``reason``). They are stored in English, the language-neutral form the golden cases
  and both engines share, and rendered at the output edge: each entry is an English pattern and
  its Chinese template; ``{1}`` ... ``{9}`` take the pattern's groups. The same entries drive the
  Python renderer (:func:`stored_text`) and the SQL macro of the export (:func:`stored_text_sql`),
  so terminal, CSV, workbook and report say the same words. A rule or reader that stores a new
  phrase adds one entry; ``tests/test_lang.py`` fails while any English is left in ``--lang zh``.

Rule ids, column names, file names and codes are never translated: they are the contract.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_ENV = "TRACECODE_LANG"

#: Severity words (the stored value is the English id).
SEVERITY: dict[str, tuple[str, str]] = {
    "high": ("高", "high"),
    "medium": ("中", "medium"),
    "low": ("低", "low"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    # --- the error handler (cli.py) ---
    "error": ("错误：{message}", "Error: {message}"),
    "hint": ("提示：{hint}", "Hint: {hint}"),
    "warning": ("警告：{message}", "Warning: {message}"),
    "interrupted": ("已中断。", "Interrupted."),
    "interrupted.ingest": ("已中断：未读完的文件已回滚，已读完的文件保留（再次运行会跳过它们）。",
                           "Interrupted: the file being loaded was rolled back, the files loaded in full are kept "
                           "(running again skips them)."),
    "interrupted.check": ("已中断：已保存的检查结果保持本次检查之前的状态。",
                          "Interrupted: the stored findings are as they were before this check."),
    "interrupted.export": ("已中断：导出未完成；请重新运行（如已移入文件，加 --force）。",
                           "Interrupted: the export did not finish; run it again (with --force if files were moved in)."),
    "interrupted.scan": ("已中断：自查未完成；请重新运行（如已移入文件，加 --force）。",
                         "Interrupted: the scan did not finish; run it again (with --force if files were moved in)."),
    "bad_month": ("{value!r} 不是 YYYY-MM 格式的月份（例如 2026-10）",
                  "{value!r} is not a month written YYYY-MM (e.g. 2026-10)"),
    "bad_rules": ("未知规则 {unknown}；可选：{known}", "unknown rule(s) {unknown}; choose from {known}"),
    # --- ingest ---
    "ingest.file": ("{path}：{records:,} 条{kind}记录（{format}{encoding}）-> {events:,} 条追溯码行{rejected}",
                    "{path}: {records:,} {kind} records ({format}{encoding}) -> {events:,} code rows{rejected}"),
    "ingest.rejected": ("，拒收 {n:,} 条", ", {n:,} rejected"),
    "ingest.deletes": ("，其中删除记录（3507）{n:,} 条", ", {n:,} of them deletes (3507)"),
    "ingest.blank_rows": ("，跳过空行 {n:,} 条", ", {n:,} blank rows skipped"),
    "ingest.header_line": ("，表头在第 {n} 行", ", header on line {n}"),
    "ingest.skipped": ("{path}：{message}", "{path}: {message}"),
    "parquet.written": ("已将 {rows:,} 条追溯码行写为 Parquet：{path}", "Wrote {rows:,} code rows as Parquet under {path}"),
    "kind.sale": ("销售", "sale"),
    "kind.return": ("退货", "return"),
    "kind.purchase": ("采购", "purchase"),
    "kind.purchase_return": ("采购退货", "purchase return"),
    "kind.delete": ("删除", "delete"),
    "kind.mixed": ("混合", "mixed"),
    # --- status ---
    "status.db": ("数据库：{path}", "Database: {path}"),
    "status.rows": ("追溯码行数：{events:,}（{kinds}）", "Code rows: {events:,} ({kinds})"),
    "status.none": ("无", "none"),
    "status.codes": ("不同的有效追溯码：{codes:,}   无效追溯码行：{invalid:,}",
                     "Distinct valid codes: {codes:,}   invalid code rows: {invalid:,}"),
    "status.counts": ("药店数：{pharmacies:,}   读取记录：{read:,}   保存：{stored:,}   拒收：{rejects:,}",
                      "Pharmacies: {pharmacies:,}   records read: {read:,}   stored: {stored:,}   rejected: {rejects:,}"),
    "status.months": ("月份", "Months"),
    "status.files": ("文件", "Files"),
    "col.month": ("月份", "month"),
    "col.sales": ("销售", "sales"),
    "col.returns": ("退货", "returns"),
    "col.file_no": ("序号", "#"),
    "col.name": ("名称", "name"),
    "col.kind": ("类型", "kind"),
    "col.format": ("格式", "format"),
    "col.bytes": ("字节", "bytes"),
    "col.records": ("记录", "records"),
    "col.stored": ("保存", "stored"),
    "col.rejected": ("拒收", "rejected"),
    "col.code_rows": ("追溯码行", "code rows"),
    "col.fingerprint": ("指纹", "fingerprint"),
    "col.loaded": ("读入时间", "loaded"),
    "col.blank_rows": ("空行", "blank"),
    "col.header_line": ("表头行", "header"),
    # --- check ---
    "col.rule": ("规则", "rule"),
    "col.label": ("规则名称", "label"),
    "col.severity": ("严重程度", "severity"),
    "col.codes": ("追溯码数", "codes"),
    "col.rows": ("标记行数", "rows"),
    "col.pharmacies": ("药店数", "pharmacies"),
    "col.amount": ("金额(元)", "amount"),
    "check.done": ("检查 {month}：保存 {findings:,} 条检查结果，用时 {seconds:.1f} 秒",
                   "check {month}: {findings:,} findings stored in {seconds:.1f} s"),
    "check.done_spark": ("在 Spark 上检查 {month}：{findings:,} 条检查结果，用时 {seconds:.1f} 秒；文件在 {out}",
                         "check {month} on Spark: {findings:,} findings in {seconds:.1f} s; files in {out}"),
    "scope.all": ("全部月份", "all months"),
    "spark.started": ("Spark {version}（{master}）已启动，用时 {seconds:.1f} 秒",
                      "Spark {version} ({master}) started in {seconds:.1f} s"),
    # --- export ---
    "export.done": ("已导出 {scope} 到 {out}：", "Exported {scope} to {out}:"),
    "export.file": ("  {name:<22} {rows:>9,} 行", "  {name:<22} {rows:>9,} rows"),
    "export.folders": ("  pharmacies/            {n:>9,} 个文件夹", "  pharmacies/            {n:>9,} folders"),
    "other_pharmacy": ("其他药店", "another pharmacy"),
    "withheld": ("（已隐去：整条记录可能含个人信息；--no-mask 可显示）",
                 "(withheld: the whole record may hold personal data; --no-mask shows it)"),
    # --- scan ---
    "scan.file": ("{path}：{records:,} 条{kind}记录{rejected}", "{path}: {records:,} {kind} records{rejected}"),
    "scan.file_rejected": ("，其中 {n:,} 条无法读取", ", {n:,} could not be read"),
    "scan.checked": ("已检查 {files} 个文件中的 {records:,} 条记录（{pharmacies:,} 家药店{span}）。",
                     "Checked {records:,} records from {files} file(s) ({pharmacies:,} pharmacies{span})."),
    "scan.span_one": ("，{month}", ", {month}"),
    "scan.span_many": ("，{first} 至 {last}", ", {first} to {last}"),
    "scan.rejected": ("{n:,} 条记录无法读取——请更正后重新上传：见 {path}",
                      "{n:,} record(s) could not be read — fix them and upload again: see {path}"),
    "scan.nothing": ("未发现重复使用或无效的追溯码。", "No re-used or invalid traceability codes found."),
    "scan.found": ("  {n:,} 个{what}（{label}）——{advice}：见 {path}",
                   "  {n:,} {what} ({label}) — {advice}: see {path}"),
    "scan.found_other": ("  {rule} 的检查结果 {n:,} 条：见 {path}", "  {n:,} finding(s) of {rule}: see {path}"),
    "scan.files": ("文件：{files}", "Files: {files}"),
    "scan.folders": ("每家药店一个文件夹（仅含本店记录）：{path}", "One folder per pharmacy (its own rows only): {path}"),
    # --- report ---
    "report.title": ('药品追溯码监测月报 {month}', 'Drug traceability code monitoring report {month}'),
    "report.h1": ('药品追溯码重复使用监测月报', 'Monthly report: re-used drug traceability codes'),
    "report.sub": ('统计月份 <b>{month}</b> · 数据库 {db} · 生成时间 {at}', 'Month <b>{month}</b> · database {db} · generated {at}'),
    "report.footer_masked": ('人员编号已脱敏（保留前三位与后两位，附校验串，可区分不同人员但无法还原）。', 'Person ids are masked (at most the first 3 and last 2 characters and a check string: persons can be told apart but not read back).'),
    "report.footer_unmasked": ('注意：本报告含未脱敏的人员编号，请按个人信息管理规定保管。', 'Note: this report holds unmasked person ids; keep it as personal information rules require.'),
    "report.footer_rules": (' 同一追溯码可同时触发多条规则。规则定义见 tracecode 文档 docs/RULES.md。', " One code can trigger several rules. The rules are defined in tracecode's docs/RULES.md."),
    "report.not_checked_prev": ('上月未检查', 'previous month not checked'),
    "report.vs_prev": ('较上月', 'vs previous month'),
    "report.same_as_prev": ('与上月持平', 'same as previous month'),
    "report.card_rows": ('上传追溯码行数', 'Uploaded code rows'),
    "report.card_pharmacies": ('药店数', 'Pharmacies'),
    "report.card_codes": ('可疑追溯码（码×规则）', 'Suspicious codes (code × rule)'),
    "report.card_flagged": ('被标记行数', 'Flagged rows'),
    "report.card_rejects": ('无法读取的记录', 'Unreadable records'),
    "report.overview": ('本月概况', 'This month'),
    "report.by_rule": ('各规则发现的可疑追溯码', 'Suspicious codes by rule'),
    "report.severity": ('严重程度', 'severity'),
    "report.rule_flagged": ('标记 {rows} 行 · {pharmacies} 家药店', '{rows} rows flagged · {pharmacies} pharmacies'),
    "report.trend": ('各规则发现数（按月）', 'Findings by rule, by month'),
    "report.not_checked": ('未检查', 'not checked'),
    "report.top_pharmacies": ('被标记比例最高的药店', 'Pharmacies with the highest flagged share'),
    "report.no_pharmacy": ('本月没有药店的上传行被标记。', 'No pharmacy has flagged rows this month.'),
    "report.col_pharmacy_code": ('定点医药机构编号', 'Pharmacy code'),
    "report.col_name": ('名称', 'Name'),
    "report.col_rows": ('上传行数', 'Rows uploaded'),
    "report.col_flagged": ('标记行数', 'Flagged rows'),
    "report.col_share": ('标记比例', 'Flagged share'),
    "report.col_codes": ('可疑追溯码', 'Suspicious codes'),
    "report.col_rules": ('规则', 'Rules'),
    "report.list_sep": ('、', ', '),
    "report.top_drugs": ('涉及最多的药品', 'Drugs most involved'),
    "report.no_drug": ('本月没有可疑药品。', 'No suspicious drug this month.'),
    "report.col_med_list": ('医疗目录编码', 'Drug list code'),
    "report.col_drug_name": ('药品名称', 'Drug name'),
    "report.col_pharmacy_count": ('药店数', 'Pharmacies'),
    "report.none": ('（无）', '(none)'),
    "report.cases": ('各规则最严重的案例及证据', 'The worst cases of each rule, with evidence'),
    "report.no_finding": ('本月没有发现可疑追溯码。', 'No suspicious code found this month.'),
    "report.first_n": ('（前 {n} 个）', ' (first {n})'),
    "report.rule_codes": ('{n} 个追溯码{shown}', '{n} codes{shown}'),
    "report.col_code": ('追溯码', 'Code'),
    "report.col_detail": ('说明', 'Detail'),
    "report.col_pharmacies": ('涉及药店', 'Pharmacies'),
    "report.col_occurrences": ('出现次数', 'Occurrences'),
    "report.col_first": ('首次出现', 'First seen'),
    "report.col_last": ('最后出现', 'Last seen'),
    "report.evidence": ('证据：该追溯码的全部记录（红色为被标记行）', 'Evidence: every row of this code (flagged rows in red)'),
    "report.col_time": ('时间', 'Time'),
    "report.col_kind": ('类型', 'Kind'),
    "report.col_pharmacy": ('药店', 'Pharmacy'),
    "report.col_receipt": ('零售单据号', 'Receipt'),
    "report.col_qty": ('数量', 'Quantity'),
    "report.col_split": ('拆零', 'Split'),
    "report.col_insured": ('医保结算', 'Insured'),
    "report.col_person": ('人员编号', 'Person'),
    "report.col_code_raw": ('原始追溯码', 'Raw code'),
    "report.col_source": ('来源', 'Source'),
    "report.kind_sale": ('销售', 'sale'),
    "report.kind_return": ('退货', 'return'),
    "report.split": ('拆零', 'split'),
    "report.whole": ('整盒', 'whole box'),
    "report.yes": ('是', 'yes'),
    "report.no": ('否', 'no'),
    "report.more_events": ('另有 {n} 条记录未列出，完整证据见 tracecode export 的 suspicious_events.csv。', "{n} more rows not listed; the full evidence is in tracecode export's suspicious_events.csv."),
    "report.rejects_title": ('无法读取的记录', 'Unreadable records'),
    "report.rejects_text": ('本月相关文件中共有 <b id="rejects-count">{rejects}</b> 条记录无法读取。这些文件共读取 <b id="records-read">{records}</b> 条记录；概况中的“上传追溯码行数” <b>{rows}</b> 是其中属于本月的追溯码行（一条记录可含多个追溯码，文件也可含其他月份的记录）。', 'The files of this month hold <b id="rejects-count">{rejects}</b> records that could not be read. These files hold <b id="records-read">{records}</b> records read; the overview\'s “Uploaded code rows” <b>{rows}</b> are their code rows of this month (one record can hold several codes, and a file can hold other months\' records).'),
    "report.col_reason": ('原因', 'Reason'),
    "report.col_records": ('记录数', 'Records'),
    "report.rings_title": ('疑似回流团伙（药店之间的医保药品回流）', 'Suspected recycling rings (insured drugs resold between pharmacies)'),
    "report.rings_text": ('一条箭头 A → B：在药店 A 医保购买的整盒药品，之后在药店 B 再次销售。单条流向至少 {min_packs} 盒、或同一人至少 {min_packs} 盒回流时连成团伙；共 {n} 个团伙，下图为最大的 {shown} 个。', 'An arrow A → B: whole boxes bought with insurance at pharmacy A, later sold again at pharmacy B. Pharmacies join a ring when one flow holds at least {min_packs} boxes, or one person recycles at least {min_packs}; {n} rings, the largest {shown} drawn below.'),
    "report.col_ring": ('团伙', 'Ring'),
    "report.col_members": ('药店数', 'Pharmacies'),
    "report.col_packs": ('回流盒数', 'Boxes recycled'),
    "report.col_persons": ('涉及人数', 'Persons'),
    "report.col_drugs": ('药品种数', 'Drugs'),
    "report.col_flows": ('主要流向', 'Main flows'),
    "report.col_top_persons": ('主要人员', 'Main persons'),
    "report.rings_failed": ('无法分析：{error}', 'Could not analyse: {error}'),
    "report.cases_head": ('规则|新案件|重开|未结|已结|涉及金额(元)|已追回(元)|未结最长天数|规则精确率（已决定数）', 'Rule|New cases|Reopened|Open|Closed|Amount at stake (yuan)|Recovered (yuan)|Oldest open (days)|Rule precision (decided)'),
    "report.cases_title": ('案件处理情况', 'Cases'),
    "report.cases_text": ('案件 = 按规则和追溯码跨月跟踪的发现；精确率 = 确认违规 /（确认违规 + 已排除），按全部已决定案件计。', 'A case is a finding followed across months by rule and code; precision = confirmed / (confirmed + dismissed), over every decided case.'),
    "report.cases_none": ('本月没有涉及案件的标记行。', 'No flagged row of a case this month.'),
    "report.cases_more": ('按药店的明细见导出文件 cases_summary.csv。', 'Per pharmacy: the exported cases_summary.csv.'),
    "report.done": ("已写出 {path}：{month} 可疑追溯码 {codes:,} 个，{rows:,} 行中标记 {flagged:,} 行，拒收记录 {rejects:,} 条",
                    ("Wrote {path}: {codes:,} suspicious codes in {month}, {flagged:,} of {rows:,} rows flagged, "
                     "{rejects:,} records rejected")),
    # --- trace ---
    "trace.withdrawn": ("（已被 3507 删除撤销）", " (withdrawn by a 3507 delete)"),
    "trace.not_found": ("未找到", "not found"),
    "trace.once": ("销售 1 次", "sold once"),
    "trace.times": ("销售 {n} 次", "sold {n} times"),
    "trace.returns": ("，退货 {n} 次", ", {n} return(s)"),
    "trace.rules": ("触发的规则：", "Rules tripped:"),
    "trace.invalid": ("（无效追溯码：{reason}）", " (invalid code: {reason})"),
    "col.time": ("时间", "time"),
    "col.pharmacy": ("药店", "pharmacy"),
    "col.receipt": ("单据号", "receipt"),
    "col.qty": ("数量", "qty"),
    "col.split": ("拆零", "split"),
    "col.insured": ("医保", "insured"),
    "col.person": ("人员编号", "person"),
    "col.source": ("来源", "source"),
    "split.yes": ("拆零", "split"),
    "split.no": ("整盒", "whole"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # --- people / rings ---
    "people.none": ("{scope}：没有人有 {n} 盒或以上医保药品被再次销售。",
                    "people {scope}: no person has {n} or more insured packs sold again."),
    "people.count": ("{scope}：{count:,} 人有 {n} 盒或以上药品被再次销售{more}",
                     "people {scope}: {count:,} person(s) with >= {n} packs sold again{more}"),
    "people.more": ("（另有 {n:,} 人未显示；export 会全部写入 persons.csv）",
                    " ({n:,} more not shown; export writes them all to persons.csv)"),
    "people.share": ("{share:.0f}%（共 {total}）", "{share:.0f}% of {total}"),
    "col.psn_no": ("人员编号", "psn_no"),
    "col.packs": ("盒数", "packs"),
    "col.share": ("占比", "share"),
    "col.drugs": ("药品数", "drugs"),
    "col.value": ("金额", "value"),
    "col.bought_at": ("购药药店", "bought at"),
    "col.reappeared_at": ("再现药店", "reappeared at"),
    "col.days": ("间隔天数", "days"),
    "rings.none": ("{scope}：没有回流团伙（没有 {n} 盒或以上药品流动的药店群）。",
                   "rings {scope}: no ring (no group of pharmacies with {n} or more packs flowing)."),
    "rings.head": ("{ring}  {members} 家药店  {packs:,} 盒  {persons:,} 人  {drugs:,} 种药品  {first} .. {last}{value}",
                   ("{ring}  {members} pharmacies  {packs:,} packs  {persons:,} persons  {drugs:,} drugs  "
                    "{first} .. {last}{value}")),
    "rings.value": ("  金额 {value:,.2f}", "  value {value:,.2f}"),
    "rings.members": ("  成员：{text}", "  members: {text}"),
    "rings.flows": ("  流向：{text}", "  flows:   {text}"),
    "rings.persons": ("  人员：{text}", "  persons: {text}"),
    "rings.drugs": ("  药品：{text}", "  drugs:   {text}"),
    "rings.linked": ("  由 {n} 盒或以上的人员关联：{text}", "  linked by persons with >= {n} packs: {text}"),
    "rings.count": ("{scope}：{count:,} 个团伙{more}", "rings {scope}: {count:,} ring(s){more}"),
    "rings.more": ("（另有 {n:,} 个未显示）", " ({n:,} more not shown)"),
    "role.source": ("来源", "source"),
    "role.sink": ("去向", "sink"),
    "role.both": ("双向", "both"),
    # --- cases ---
    "cases.listed": ("{n:,} 个案件", "{n:,} case(s)"),
    "cases.flagged_rows": ("标记行：", "Flagged rows:"),
    "cases.history": ("历史：", "History:"),
    "cases.set": ("{n:,} 个案件已设为 {status}（{label}）", "{n:,} case(s) set to {status} ({label})"),
    "cases.workbooks": ("{n:,} 个药店工作簿，{cases:,} 个案件", "{n:,} pharmacy workbook(s), {cases:,} case(s)"),
    "cases.workbook": ("{path}：{cases:,} 个案件", "{path}: {cases:,} case(s)"),
    "cases.imported": ("{path}：{n:,} 个决定已导入", "{path}: {n:,} decision(s) imported"),
    "cases.not_applied": ("{n:,} 处错误，未做任何更改", "{n:,} error(s), nothing changed"),
    "cases.synced": ("{path}：{opened:,} 个新案件，{reopened:,} 个重开，{rows:,} 行新标记",
                     "{path}: {opened:,} new case(s), {reopened:,} reopened, {rows:,} newly flagged row(s)"),
    "cases.problem": ("{where}：{field}：{reason}", "{where}: {field}: {reason}"),
    "case_status.new": ("新发现", "new"),
    "case_status.reviewing": ("核查中", "under review"),
    "case_status.appealed": ("申诉中", "appealed"),
    "case_status.confirmed": ("确认违规", "confirmed violation"),
    "case_status.dismissed": ("已排除", "dismissed"),
    # the workbook's drop-down checks (an Excel pop-up)
    "cases.book_decision": ("状态须为 reviewing/appealed/confirmed/dismissed 之一",
                            "the status is one of reviewing/appealed/confirmed/dismissed"),
    "cases.book_recovered": ("追回金额须为 >= 0 的数字", "the amount recovered is a number >= 0"),
    "cases.book_until": ("日期，如 2027-06-30", "a date, e.g. 2027-06-30"),
    # the columns of `cases list` and `cases show` as tables (csv and json keep the column names)
    "case_col.field": ("字段", "field"),
    "case_col.value": ("值", "value"),
    "case_col.case_id": ("案件编号", "case_id"),
    "case_col.rule": ("规则", "rule"),
    "case_col.drug_trac_codg": ("追溯码", "drug_trac_codg"),
    "case_col.status": ("状态", "status"),
    "case_col.status_zh": ("状态（中文）", "status_zh"),
    "case_col.first_seen": ("首次出现", "first_seen"),
    "case_col.last_seen": ("最后出现", "last_seen"),
    "case_col.flagged_rows": ("标记行数", "flagged_rows"),
    "case_col.pharmacies": ("药店数", "pharmacies"),
    "case_col.pharmacy_list": ("涉及药店", "pharmacy_list"),
    "case_col.amount": ("金额(元)", "amount"),
    "case_col.recovered": ("已追回(元)", "recovered"),
    "case_col.reason": ("原因", "reason"),
    "case_col.until": ("排除至", "until"),
    "case_col.opened_month": ("立案月份", "opened_month"),
    "case_col.last_month": ("最近月份", "last_month"),
    "case_col.version": ("版本", "version"),
    "case_col.updated_at": ("更新时间", "updated_at"),
    "case_col.month": ("月份", "month"),
    "case_col.fixmedins_code": ("定点医药机构编号", "fixmedins_code"),
    "case_col.sel_retn_time": ("销售/退货时间", "sel_retn_time"),
    "case_col.rtal_docno": ("零售单据号", "rtal_docno"),
    "case_col.code_raw": ("原始追溯码", "code_raw"),
    "case_col.psn_no": ("人员编号", "psn_no"),
    "case_col.source_file": ("来源文件", "source_file"),
    "case_col.src_line": ("行号", "src_line"),
    "case_col.at": ("时间", "at"),
    "case_col.by": ("决定人", "by"),
    "case_col.from_status": ("原状态", "from_status"),
    "case_col.to_status": ("新状态", "to_status"),
    "case_col.detail": ("说明", "detail"),
    # --- synth ---
    "synth.done": ("已写出 {n} 个文件到 {path}", "Wrote {n} files to {path}"),
}

class RuleWords(NamedTuple):
    """What a rule's finding means for the person who uploaded the rows, and what to do (scan)."""

    zh: tuple[str, str]  # (what, advice)
    en_one: str
    en_many: str
    en_advice: str


RULE_WORDS: dict[str, RuleWords] = {
    "duplicate_upload": RuleWords(
        ("追溯码在同一单据下重复上传", "属数据错误：请在截止前删除多余的记录"),
        "code uploaded twice under the same receipt", "codes uploaded twice under the same receipt",
        "a data error: delete the extra copies before the deadline"),
    "return_without_sale": RuleWords(
        ("退货没有对应的销售", "请补传缺少的销售记录，或更正退货"),
        "return with no matching sale", "returns with no matching sale",
        "upload the missing sale or correct the return"),
    "same_pharmacy_repeat": RuleWords(
        ("追溯码在同一药店整盒销售多次", "一盒只能销售一次：请核对单据和扫码"),
        "code sold more than once as a whole pack at one pharmacy",
        "codes sold more than once as a whole pack at one pharmacy",
        "one pack is sold once: check the receipts and the scanning"),
    "cross_pharmacy_reuse": RuleWords(
        ("追溯码也在其他药店销售", "可能是复制的追溯码或回流药"),
        "code also sold at another pharmacy", "codes also sold at another pharmacy",
        "possible copied code or recycled pack (回流药)"),
    "recycled_resale": RuleWords(
        ("追溯码在医保销售后再次销售", "可能是回流药"),
        "code sold again after an insured sale", "codes sold again after an insured sale",
        "possible recycled pack (回流药)"),
    "split_overuse": RuleWords(
        ("追溯码的拆零销售数量对不上", "请核对拆零数量和每盒数量"),
        "code with split-pack (拆零) sales that do not add up", "codes with split-pack (拆零) sales that do not add up",
        "check the split quantities and the pack size"),
    "invalid_code": RuleWords(
        ("值不是有效的追溯码", "请重新扫码；不要经 Excel 输入或粘贴追溯码"),
        "value that is not a valid traceability code", "values that are not valid traceability codes",
        "rescan the pack; never type or paste codes through Excel"),
    "product_mismatch": RuleWords(
        ("追溯码扫在了与结算药品不同的药品上", "请扫实际销售的药盒"),
        "code scanned on another drug than the one billed", "codes scanned on another drug than the one billed",
        "scan the pack that is actually sold"),
    "uncoded_sale": RuleWords(
        ("应扫码的药品销售时未上传追溯码", "西药、中成药销售时须扫码上传追溯码"),
        "drug sold without a traceability code", "drugs sold without a traceability code",
        "scan and upload the code of every Western or Chinese patent medicine sold"),
    "sale_without_purchase": RuleWords(
        ("追溯码销售前没有本店的采购记录", "请补传采购记录，或核对药品来源"),
        "code sold without an earlier purchase", "codes sold without an earlier purchase",
        "upload the missing purchase or check where the pack came from"),
}

#: Finding details and reject reasons as stored (English) -> Chinese. Applied in order, each to
#: every match; a phrase is a whole clause, so the order of the clauses in Chinese follows the
#: order in which the rule writes them. Patterns use only what Python's re and RE2 (DuckDB)
#: read alike: literals, \d, \S, [...], groups, ?, +, *.
STORED_PHRASES: list[tuple[str, str]] = [
    # shared endings
    (r" — suspected recycled drug \(回流药\) or use of another person's insurance card",
     "——疑似回流药或冒用他人医保卡"),
    (r" — suspected counterfeit \(copied code\)", "——疑似假冒（追溯码被复制）"),
    # cross_pharmacy_reuse
    (r"sold at (\d+) pharmacies, ", "在 {1} 家药店销售，"),
    (r"(\d+) min apart at the closest", "最近两次相隔 {1} 分钟"),
    (r"([\d.]+) hours apart at the closest", "最近两次相隔 {1} 小时"),
    (r"([\d.]+) days apart at the closest", "最近两次相隔 {1} 天"),
    # duplicate_upload
    (r"(\d+) extra cop(?:y|ies) of the same record \(same pharmacy, receipt and code\) uploaded again",
     "同一记录（药店、单据号、追溯码均相同）重复上传 {1} 次"),
    (r" — a data error to correct, not fraud", "——属数据错误，应更正，不是欺诈"),
    # invalid_code
    (r"^empty code", "追溯码为空"),
    (r"went through Excel as a number: the digits are lost", "经 Excel 当作数字处理，位数已丢失"),
    (r"placeholder, not a real code", "占位码，不是真实追溯码"),
    (r"wrong length: not a 20-digit code", "长度不对：不是 20 位追溯码"),
    (r"20 digits but not starting with 8", "20 位但不以 8 开头"),
    (r"letters or symbols: neither a 20-digit code nor a GS1 string", "含字母或符号：既不是 20 位追溯码，也不是 GS1 编码"),
    (r"GS1 code with a wrong GTIN check digit", "GS1 编码的 GTIN 校验位错误"),
    (r"GS1 code without a serial number \(AI 21\)", "GS1 编码缺少序列号（AI 21）"),
    (r"GS1 code whose separators \(GS\) were dropped: it reads as more than one pack \(gs1_ambiguous\): ",
     "GS1 编码的分隔符（GS）丢失，可读作多个药盒（gs1_ambiguous），候选读法："),
    (r"\(gs1_ambiguous\)，候选读法：see trace", "（gs1_ambiguous），候选读法见 trace"),
    (r"not a valid traceability code", "不是有效的追溯码"),
    (r" — uploaded (\d+) times?", "——上传 {1} 次"),
    # product_mismatch
    (r"billed as (\S+) but the code's product (\S+) is (\S+)", "按 {1} 结算，但追溯码的产品 {2} 属于 {3}"),
    (r" or 1 other drug", " 或另外 1 种药品"),
    (r" or (\d+) other drugs", " 或另外 {1} 种药品"),
    (r" by the catalogue", "（依据药品目录）"),
    (r" by the majority of its sales \((\d+) of (\d+)\)", "（依据多数销售记录：{2} 条中 {1} 条）"),
    (r" — the scanned pack is not the drug billed", "——扫码的药盒不是结算的药品"),
    # recycled_resale
    (r"sold again (\d+) times? after an insured whole-pack sale at (.+) on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)",
     "在 {2} 于 {3} 医保整盒销售后，又被销售 {1} 次"),
    # return_without_sale
    (r"(\d+) returns? with no earlier sale of this pack at the same pharmacy to cancel",
     "{1} 笔退货在同一药店没有可冲销的先前销售"),
    (r" — the sale was never uploaded, or the return is fictitious", "——销售未上传，或退货是虚构的"),
    # same_pharmacy_repeat
    (r"sold as a whole pack (\d+) times under different receipts at one pharmacy \(([^)]+)\)",
     "在同一药店（{2}）以不同单据整盒销售 {1} 次"),
    (r"sold as a whole pack (\d+) times under different receipts at each of several pharmacies",
     "在多家药店各以不同单据整盒销售 {1} 次"),
    (r" — suspected substitution \(串换\) or empty swipes \(空刷\)", "——疑似串换或空刷"),
    # split_overuse
    (r"split sales of one pack: ", "同一盒拆零销售："),
    (r"quantities add up to ([\d.]+) units, more than the ([\d.]+) in a pack; ", "数量合计 {1}，超过每盒 {2}；"),
    (r"sold split at (\d+) pharmacies; ", "在 {1} 家药店拆零销售；"),
    (r"sold both split and as a whole pack; ", "既拆零销售又整盒销售；"),
    (r"the pack was sold more than once", "该盒被多次销售"),
    # uncoded_sale
    (r"(\d+) sales? of drug (\S+) uploaded without a traceability code, which this drug must carry "
     r"\(Western or Chinese patent medicine\)", "药品 {2} 有 {1} 笔销售未上传追溯码（西药、中成药应扫码）"),
    (r" — the pack was not scanned", "——药盒未扫码"),
    # sale_without_purchase
    (r"sold by a pharmacy with no purchase of this pack before the sale \(purchases net of returns\)",
     "销售药店在销售前没有该盒的采购记录（采购减去采购退货）"),
    (r" — no pharmacy bought it", "——没有任何药店采购过"),
    (r" — bought by (\S+) and (\d+) other pharmacies", "——由 {1} 及另外 {2} 家药店采购"),
    (r" — bought by (\S+)", "——由 {1} 采购"),
    # reject reasons (sql/ingest/parse_batch.sql)
    (r"missing pharmacy code \(定点医药机构编号\)", "缺少定点医药机构编号"),
    (r"missing receipt number \(零售单据号\)", "缺少零售单据号"),
    (r"missing traceability code \(追溯码\)", "缺少追溯码"),
    (r"missing sale/return time \(销售/退货时间\)", "缺少销售/退货时间"),
    (r"unreadable sale/return time \(销售/退货时间\)", "销售/退货时间无法识别"),
    (r"missing quantity \(销售/退货数量\)", "缺少销售/退货数量"),
    (r"quantity is not a number \(销售/退货数量\)", "销售/退货数量不是数字"),
    (r"quantity must be positive \(销售/退货数量\)", "销售/退货数量必须大于 0"),
    (r"quantity out of range: 0.0001 to 100000 \(销售/退货数量\)", "销售/退货数量超出范围（0.0001 至 100000）"),
    (r"split flag must be 0 or 1 \(拆零标志\)", "拆零标志必须是 0 或 1"),
    (r"price is not a number \(单价\)", "单价不是数字"),
    (r"price must not be negative \(单价\)", "单价不能为负数"),
    (r"price out of range: 0 to 10000000 \(单价\)", "单价超出范围（0 至 10000000）"),
    # ingest's note on a file loaded before (store/ingest.py)
    (r"^already loaded as file #(\d+) \((.+), (\d{4}-\d\d-\d\d \d\d:\d\d)\); nothing added",
     "已作为第 {1} 号文件（{2}，{3}）读入过，未增加任何内容"),
    # reject reasons (inputs/readers.py)
    (r"^expected (\d+) fields, found (\d+)", "应有 {1} 个字段，实有 {2} 个"),
    (r"^kind must be sale, return, purchase or purchase_return \(类型\)", "类型必须是销售、退货、采购或采购退货"),
    (r"^a delete must name the record it withdraws \(定点医药机构批次流水号\)$", "删除记录须写明所撤销记录的定点医药机构批次流水号"),
    (r"^inv_data_type must be 1, 2, 3 or 4 \(进销存数据类型\)$", "进销存数据类型必须是 1、2、3 或 4"),
    (r"^3501 inventory records are not used$", "3501 盘存记录不在检查范围内"),
    (r"^3502 stock change records are not used$", "3502 库存变更记录不在检查范围内"),
    (r"^input is encrypted \(SM4\): decrypt before loading$", "input 已加密（SM4）：请先解密再读入"),
    (r"^input is empty$", "input 为空"),
    (r"^input is not a JSON object$", "input 不是 JSON 对象"),
    (r"^input\.(\w+) holds no record$", "input.{1} 中没有记录"),
    (r"^no sale or return record \(input\.selinfo\) in the message$", "报文中没有销售或退货记录（input.selinfo）"),
    (r"^unsupported infno (\S+); expected 3503, 3504, 3505, 3505A, 3506 or 3507$", "不支持的 infno {1}；应为 3503、3504、3505、3505A、3506 或 3507"),
    (r"^invalid JSON: the message is not complete$", "JSON 无效：报文不完整"),
    (r"^encoding: the line is neither UTF-8 nor GBK \(GB18030\) text", "编码：该行既不是 UTF-8 也不是 GBK（GB18030）文本"),
    (r"^invalid JSON: (.*)", "JSON 格式错误：{1}"),
    (r"^JSON nested too deeply", "JSON 嵌套过深"),
    (r"^not a JSON object", "不是 JSON 对象"),
    (r"^selinfo item is not an object", "selinfo 条目不是对象"),
    ((r"^stopped reading: ([\d,]+) empty rows in a row; rows after ([\d,]+) were not read "
      r"\(delete the empty rows in Excel if records follow\)"),
     "停止读取：连续 {1} 行为空；第 {2} 行之后未读取（如后面还有记录，请在 Excel 中删除空行）"),
    # resource caps (inputs/caps.py, readers.py, nhsa_json.py)
    (r"^cell too long: ([\d,]+) bytes, more than the ([\d,]+) a cell may hold", "单元格过长：{1} 字节，超过单元格上限 {2} 字节"),
    (r"^line too long: more than ([\d,]+) bytes; not read", "行过长：超过 {1} 字节，未读取"),
    (r"^message too long: more than ([\d,]+) characters; not read", "报文过长：超过 {1} 个字符，未读取"),
    (r"^encoding: a JSON string holds an unpaired UTF-16 surrogate escape \(ud800 to udfff\), not a character",
     "编码：JSON 字符串含不成对的 UTF-16 代理项转义（ud800 至 udfff），不是字符"),
]

#: Whole lines the library raises or reports (``Error:``/``Hint:``/``Warning:`` lines, Spark's
#: progress lines) -> Chinese.
#: Same form as STORED_PHRASES; an error without an entry is shown as raised.
ERROR_PHRASES: list[tuple[str, str]] = [
    (r"^the report is for one checked month$", "报告针对一个已检查的月份"),
    (r"^give --month YYYY-MM$", "请给出 --month YYYY-MM"),
    (r"^(.+): missing required column\(s\) (.+); columns found: (.*)$", "{1}：缺少必需的列 {2}；文件中的列：{3}"),
    (r"^(.+): mixes UTF-8 and GBK text$", "{1}：文件中混有 UTF-8 与 GBK 文本"),
    (r"^database (.+) does not exist$", "数据库 {1} 不存在"),
    (r"^database (.+) is in use by another process$", "数据库 {1} 正被另一个进程使用"),
    (r"^cannot open database (.+?): (.*)$", "无法打开数据库 {1}：{2}"),
    (r"^this command writes to the database: copy it to a writable folder, or use a command that only reads it "
     r"\(status, trace, export, report\)$",
     "此命令要写入数据库：请把它复制到可写的文件夹，或使用只读取它的命令（status、trace、export、report）"),
    (r"^(.+) is a folder, not a database file$", "{1} 是文件夹，不是数据库文件"),
    (r"^(.+) is not a DuckDB database file$", "{1} 不是 DuckDB 数据库文件"),
    (r"^(.+) is not a tracecode database$", "{1} 不是 tracecode 数据库"),
    (r"^(.+) holds no uploads$", "{1} 中没有上传数据"),
    (r"^(.+) has not been checked yet$", "{1} 尚未检查"),
    (r"^month (\S+) is not in (.+) \(it holds (\S+) to (\S+)\)$", "月份 {1} 不在 {2} 中（其中有 {3} 至 {4}）"),
    (r"^month (\S+) is not in (.+) \(it holds (.+)\)$", "月份 {1} 不在 {2} 中（其中有 {3}）"),
    (r"^month (\S+) has not been checked \(checked: (.*)\)$", "月份 {1} 尚未检查（已检查：{2}）"),
    (r"^month '(.*)' is not a month such as 2026-10 \(YYYY-MM\)$", "月份 '{1}' 不是 2026-10 这样的月份（YYYY-MM）"),
    (r"^--month '(.*)' is not a month; write it as YYYY-MM, e.g. 2026-10$", "--month '{1}' 不是月份；请写成 YYYY-MM，例如 2026-10"),
    (r"^the database has no events in (\S+); (.*)$", "数据库中没有 {1} 的记录；{2}"),
    (r"^there are no findings over all months \(checked: (.*)\)$", "没有全部月份的检查结果（已检查：{1}）"),
    (r"^the database has not been checked yet$", "数据库尚未检查"),
    (r"^output folder (.+) is not empty$", "输出文件夹 {1} 不是空的"),
    (r"^Parquet folder (.+) is not empty$", "Parquet 文件夹 {1} 不是空的"),
    (r"^(.+) exists and is not a folder$", "{1} 已存在且不是文件夹"),
    (r"^(.+) is a folder$", "{1} 是文件夹"),
    (r"^(.+) exists$", "{1} 已存在"),
    (r"^folder (.+) does not exist$", "文件夹 {1} 不存在"),
    (r"^cannot create (.+?): (.*)$", "无法创建 {1}：{2}"),
    (r"^(.+): no such file or folder$", "{1}：没有这个文件或文件夹"),
    (r"^(.+): no such file$", "{1}：没有这个文件"),
    (r"^'(.*)' is empty: nothing to trace$", "'{1}' 为空：没有可查询的追溯码"),
    (r"^database (.+) was written by an earlier tracecode: its codes must be normalised again$",
     "数据库 {1} 由旧版 tracecode 写入，其追溯码须按新规则重新规范化"),
    (r"^database (.+) was written by a newer tracecode$", "数据库 {1} 由更新版本的 tracecode 写入"),
    (r"^this database was written by a newer tracecode \(code version (\d+)\)$",
     "该数据库由更新版本的 tracecode 写入（追溯码版本 {1}）"),
    (r"^every upload file given was given before \(same content\); nothing to read$",
     "给出的上传文件都已读入过（内容相同），没有可读的内容"),
    ((r"^(.+): (\d+) line\(s\) hold characters GBK cannot encode \((.*)\), written as '\?' \(line (.+)\); "
      r"use --encoding utf-8-sig to keep them$"),
     "{1}：{2} 行含 GBK 无法编码的字符（{3}），已写为“?”（第 {4} 行）；用 --encoding utf-8-sig 可保留这些字符"),
    # Spark progress lines (spark/engine.py, spark/ingest.py)
    (r"^stage (\S+): ([\d,]+) rows in ([\d.]+) s$", "阶段 {1}：{2} 行，用时 {3} 秒"),
    (r"^stage (\S+): ([\d.]+) s$", "阶段 {1}：用时 {2} 秒"),
    (r"^stage (\S+): (\S+) of an earlier check of this input$", "阶段 {1}：沿用此前对该输入检查的 {2}"),
    (r"^rules: ([\d,]+) flagged rows in ([\d.]+) s$", "规则：标记 {1} 行，用时 {2} 秒"),
    (r"^rules: ([\d.]+) s$", "规则：用时 {1} 秒"),
    (r"^summaries kept in (.+): new files to add$", "汇总保存在 {1}：有新文件需要加入"),
    (r"^summaries kept in (.+): up to date$", "汇总保存在 {1}：已是最新"),
    (r"^summaries kept in (.+) for the next check: ([\d.]+) s$", "汇总已保存在 {1}，供下次检查使用：用时 {2} 秒"),
    (r"^(.+): the same content was given before; skipped$", "{1}：内容相同的文件已给出过，跳过"),
    (r"^cannot read mask key file (.+?): (.*)$", "无法读取遮蔽密钥文件 {1}：{2}"),
    (r"^the layout (.+) was masked with another key than this command's$", "Parquet 文件夹 {1} 是用另一个密钥遮蔽的"),
    (r"^give the --mask-key-file it was exported with, or export it again \(export --parquet --force\)$",
     "请给出导出它时所用的 --mask-key-file，或重新导出（export --parquet --force）"),
    (r"^(.+) holds masked person ids \(export --parquet\); Spark would add raw ones$",
     "{1} 中的人员编号已遮蔽（export --parquet）；Spark 会加入未遮蔽的编号"),
    (r"^add the files with tracecode ingest --to-parquet \(it masks them alike\), or give --to-parquet another folder$",
     "请用 tracecode ingest --to-parquet 加入这些文件（同样遮蔽），或为 --to-parquet 指定另一个文件夹"),
    (r"^mask key file (.+) holds (\d+) characters; at least (\d+) are needed$",
     "遮蔽密钥文件 {1} 只有 {2} 个字符，至少需要 {3} 个"),
    # hints
    (r"^a key file holds one line of at least 16 random characters, e\.g\. made once with "
     r"`openssl rand -hex 32 > (.+)`; keep it as safe as the data$",
     "密钥文件为一行至少 16 个随机字符，例如用 openssl rand -hex 32 > {1} 生成一次；请像保管数据一样保管它"),
    (r"^load files first: tracecode ingest --db (.+) FILE\.\.\.$", "请先读入文件：tracecode ingest --db {1} FILE..."),
    (r"^run tracecode check --db (\S+) \(without --month\), or export with --month$",
     "请运行 tracecode check --db {1}（不带 --month），或导出时加 --month"),
    (r"^run tracecode check --db (.+)$", "请运行 tracecode check --db {1}"),
    (r"^run `tracecode ingest --db FILE \.\.\.` first$", "请先运行 tracecode ingest --db FILE ..."),
    (r"^ingest that month's uploads first, or pick a month `tracecode status` lists$",
     "请先读入该月的上传数据，或选择 tracecode status 列出的月份"),
    (r"^choose an empty or new --out folder, or add --force to overwrite tracecode's files$",
     "请选择空的或新的 --out 文件夹，或加 --force 覆盖 tracecode 写出的文件"),
    (r"^choose another --out file, or add --force to overwrite it$", "请选择另一个 --out 文件，或加 --force 覆盖"),
    (r"^create it first, or choose another --out$", "请先创建该文件夹，或选择另一个 --out"),
    (r"^give --out a file name such as report.html$", "--out 请给出文件名，例如 report.html"),
    (r"^check the path; quote names with spaces$", "请检查路径；含空格的名称请加引号"),
    (r"^check the --db path$", "请检查 --db 路径"),
    (r"^wait for the other tracecode process to finish, or use another --db file$",
     "请等待另一个 tracecode 进程结束，或使用另一个 --db 文件"),
    (r"^give the code as uploaded$", "请给出上传时的追溯码"),
    (r"^run `tracecode check --db (.+)` once: it upgrades the database in place$",
     "运行一次 `tracecode check --db {1}`：它会就地升级数据库"),
    (r"^upgrade tracecode$", "请升级 tracecode"),
    (r"^tracecode reads \.csv, \.xlsx, \.json/\.jsonl \(NHSA messages\) and \.parquet$",
     "tracecode 可读取 .csv、.xlsx、.json/.jsonl（医保报文）和 .parquet"),
    # input files (inputs/readers.py, inputs/nhsa_json.py)
    (r"^(.+): unknown file type (.+)$", "{1}：未知的文件类型 {2}"),
    (r"^(.+): the file is empty$", "{1}：文件为空"),
    (r"^(.+): is a folder, not a file$", "{1}：是文件夹，不是文件"),
    (r"^(.+): looks like a binary file, not text$", "{1}：看起来是二进制文件，不是文本"),
    (r"^export the data as CSV or \.xlsx$", "请把数据导出为 CSV 或 .xlsx"),
    (r"^(.+): no header line found \(the first lines are empty\)$", "{1}：找不到表头行（开头几行为空）"),
    (r"^name the columns with NHSA field names or Chinese headers, or give a --columns mapping file$",
     "请用医保字段名或中文表头命名各列，或用 --columns 给出映射文件"),
    (r"^(.+): cannot read as (\S+) CSV: (.*)$", "{1}：无法按 {2} CSV 读取：{3}"),
    (r"^check the file is CSV text in one encoding \(UTF-8 or GBK\), one record per line$",
     "请确认文件是同一种编码（UTF-8 或 GBK）的 CSV 文本，每行一条记录"),
    (r"^(.+): malformed CSV: (.*)$", "{1}：CSV 格式错误：{2}"),
    (r"^(.+): cannot open as an Excel \.xlsx workbook \((\w+)\)$", "{1}：无法作为 Excel .xlsx 工作簿打开（{2}）"),
    (r"^(.+): the first sheet is empty$", "{1}：第一个工作表为空"),
    (r"^(.+): cannot read the first sheet after row ([\d,]+) \((\w+)\)$", "{1}：第一个工作表在第 {2} 行之后无法读取（{3}）"),
    (r"^(.+): part (.+) unpacks to ([\d,]+) bytes from ([\d,]+): a zip bomb, not a workbook$",
     "{1}：部件 {2} 由 {4} 字节解压为 {3} 字节：这是压缩炸弹，不是工作簿"),
    (r"^(.+): part (.+) unpacks to ([\d,]+) bytes; at most ([\d,]+) are read whole$",
     "{1}：部件 {2} 解压后为 {3} 字节；整体读取的上限为 {4} 字节"),
    (r"^(.+): the workbook unpacks to ([\d,]+) bytes; at most ([\d,]+) are read$",
     "{1}：工作簿解压后为 {2} 字节；读取上限为 {3} 字节"),
    (r"^open the file in Excel and save it again as \.xlsx, or export the data as CSV$",
     "请用 Excel 打开该文件并重新另存为 .xlsx，或把数据导出为 CSV"),
    (r"^(.+): not a readable Parquet file \((.*)\)$", "{1}：不是可读取的 Parquet 文件（{2}）"),
    (r"^(.+): column (.+) holds (.+), not text or numbers$", "{1}：列 {2} 的类型为 {3}，不是文本或数字"),
    (r"^write each field as a text column \(one value per row\)$", "请把每个字段写成文本列（每行一个值）"),
    (r"^(.+): not valid JSON: (.*)$", "{1}：不是有效的 JSON：{2}"),
    (r"^(.+): JSON nested too deeply to be an NHSA message$", "{1}：JSON 嵌套过深，不是医保报文"),
    (r"^(.+): a JSON array of ([\d,]+) bytes; at most ([\d,]+) are read as one array$",
     "{1}：JSON 数组有 {2} 字节；作为一个数组读取的上限为 {3} 字节"),
    (r"^write the messages one per line \(\.jsonl\): such a file is read message by message$",
     "请每行写一条报文（.jsonl）：这样的文件逐条读取"),
    # cases (cases/statuses.py, cases/store.py, cases/workbook.py, cases/handover.py)
    (r"^([^:：]+) line (\d+)$", "{1} 第 {2} 行"),
    (r"^no such case: (.+)$", "没有这个案件：{1}"),
    (r"^`tracecode cases list` lists them$", "`tracecode cases list` 可列出全部案件"),
    (r"^--by is empty: name who decides$", "--by 不能为空：写明决定人"),
    (r"^the same case appears more than once in one import$", "同一案件在一次导入中出现多次"),
    (r"^unknown status (.+); choose from (.+)$", "未知状态 {1}，可选：{2}"),
    (r"^a case (\S+) cannot be set to (\S+); it can be set to: (.+)$", "不允许从 {1} 改为 {2}；可改为：{3}"),
    (r"^a dismissal needs one of the reasons (.+) \(其他 may add words: 其他：…\)$",
     "排除须给出原因之一：{1}（其他可加说明，如 “其他：…”）"),
    (r"^the amount recovered is for confirmed only$", "追回金额只用于 confirmed（确认违规）"),
    (r"^the amount recovered is not a number: (.+)$", "追回金额不是数字：{1}"),
    (r"^the amount recovered must be a number >= 0: (.+)$", "追回金额须为 >= 0 的数字：{1}"),
    (r"^--until is for dismissed only$", "--until 只用于 dismissed（已排除）"),
    (r"^a date is written YYYY-MM-DD: (.+)$", "日期须为 YYYY-MM-DD：{1}"),
    (r"^the version is not a number: (.+)$", "版本不是数字：{1}"),
    ((r"^the case changed after the export \(version (\d+) when exported, now (\d+), status (\S+), "
      r"flagged rows (\d+); last change: (.+)\): export again$"),
     "导出后案件已变更（导出时版本 {1}，现为 {2}，状态 {3}，标记行 {4}；最近一次：{5}）：请重新导出"),
    ((r"^the case changed after the export \(version (\d+) when exported, now (\d+), status (\S+), "
      r"flagged rows (\d+)\): export again$"),
     "导出后案件已变更（导出时版本 {1}，现为 {2}，状态 {3}，标记行 {4}）：请重新导出"),
    (r"^(.+): cannot be read: (.*)$", "{1}：无法读取：{2}"),
    (r"^(.+): not a readable xlsx file \((.+)\)$", "{1}：不是可读的 xlsx 文件（{2}）"),
    (r"^(.+): only \.xlsx or \.csv files are read$", "{1}：只接受 .xlsx 或 .csv 文件"),
    (r"^(.+): the file is empty$", "{1}：空文件"),
    (r"^(.+): line 1 lacks the column\(s\) (.+)$", "{1}：第 1 行缺少列 {2}"),
    (r"^(.+): sel_retn_time is not a time: (.*)$", "{1}：sel_retn_time 不是时间：{2}"),
    (r"^--findings names the --out folder of `check --engine spark`$",
     "--findings 应为 `check --engine spark` 的 --out 文件夹"),
    (r"^export with --headers nhsa$", "导出时请用 --headers nhsa"),
    (r"^--out names an \.xlsx file$", "--out 应为 .xlsx 文件"),
]

_GROUP = re.compile(r"\{(\d)\}")


def text(key: str, lang: str = DEFAULT_LANG, /, **params) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in."""
    zh, en = MESSAGES[key]
    return (en if lang == "en" else zh).format(**params)


def severity_text(severity: str | None, lang: str = DEFAULT_LANG) -> str:
    """高/中/低 (or high/medium/low); an unknown severity as it is."""
    if severity is None:
        return ""
    words = SEVERITY.get(severity)
    return severity if words is None else (words[1] if lang == "en" else words[0])


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(p), _GROUP.sub(r"\\g<\1>", zh)) for p, zh in STORED_PHRASES]


def stored_text(value: str | None, lang: str = DEFAULT_LANG) -> str | None:
    """A stored detail or reject reason in ``lang`` (stored texts are English)."""
    if value is None or lang == "en":
        return value
    for pattern, template in _compiled():
        value = pattern.sub(template, value)
    return value


@lru_cache(maxsize=1)
def _compiled_errors() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(p), _GROUP.sub(r"\\g<\1>", zh)) for p, zh in ERROR_PHRASES]


def error_text(message: str, lang: str = DEFAULT_LANG) -> str:
    """An error message or hint in ``lang``: the first ERROR_PHRASES entry matching the whole of
    it (the message as raised when none does, or with --lang en)."""
    if lang == "en":
        return message
    for pattern, template in _compiled_errors():
        if pattern.match(message):
            return pattern.sub(template, message, count=1)
    return message


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stored_text_sql(arg: str = "v") -> str:
    """The SQL expression rendering a stored text ``arg`` in Chinese: the chain of
    ``regexp_replace`` of :data:`STORED_PHRASES` (constants of this module, never user values)."""
    expr = arg
    for pattern, zh in STORED_PHRASES:
        replacement = _GROUP.sub(r"\\\1", zh)  # {1} -> \1
        expr = f"regexp_replace({expr}, {_sql_string(pattern)}, {_sql_string(replacement)}, 'g')"
    return expr


def stored_text_macro() -> str:
    """``CREATE MACRO shown_text(v, lang)``: a stored text as the user reads it in ``lang``."""
    return f"CREATE OR REPLACE TEMP MACRO shown_text(v, lang) AS CASE WHEN lang = 'en' THEN v ELSE {stored_text_sql('v')} END"


def severity_macro() -> str:
    """``CREATE MACRO shown_severity(s, lang)``: 高/中/低 or the English word."""
    zh = " ".join(f"WHEN {_sql_string(k)} THEN {_sql_string(v[0])}" for k, v in SEVERITY.items())
    return f"CREATE OR REPLACE TEMP MACRO shown_severity(s, lang) AS CASE WHEN lang = 'en' THEN s ELSE CASE s {zh} ELSE s END END"
