-- stage: history_rows
-- needs: scope_codes, repeat_rows
-- meaning: the rows of earlier months (before $month_lo) whose code_key occurs in the checked
--   months, valid or invalid. Such a key occurs at least twice, so its rows are in repeat_rows
--   (the narrow rows of the keys seen more than once, a few per cent of the store): a monthly
--   check does not read the history itself. Empty without --month.
SELECT
    r.event_id,
    r.code_key,
    r.code_guard,
    r.doc_guard,
    r.valid,
    r.is_return,
    r.trdn_flag,
    r.insured,
    r.qty,
    r.ts,
    r.sel_retn_time,
    r.month,
    r.ph_id,
    r.med_id,
    r.product_no
FROM repeat_rows r
WHERE r.month < $month_lo
  AND r.code_key IN (SELECT s.code_key FROM scope_codes s)
