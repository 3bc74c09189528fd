-- stage: history_rows
-- needs: scope_codes
-- meaning: the rows of earlier months (before $month_lo) whose code_key occurs in the checked
--   months, valid or invalid: the only pass over the history a monthly check makes. A
--   semi-join on the 64-bit key: DuckDB pushes a Bloom filter of the month's keys into the
--   scan, so the history's code_key and month columns are read and the other columns are
--   decoded only for the matching rows (the few codes seen before). Empty without --month.
SELECT
    e.event_id,
    e.code_key,
    e.drug_trac_codg,
    e.code_raw,
    e.code_status,
    e.invalid_reason,
    e.kind,
    e.fixmedins_code,
    e.rtal_docno,
    e.med_list_codg,
    e.product_id,
    e.trdn_flag,
    e.qty,
    e.insured,
    e.ts,
    e.sel_retn_time,
    e.month
FROM events e
WHERE e.month < $month_lo
  AND e.code_key IN (SELECT s.code_key FROM scope_codes s)
