-- stage: history_rows
-- needs: repeat_rows
-- meaning: the rows of earlier months (before $month_lo) of the code_keys that occur in the
--   checked months, valid or invalid. Such a key occurs at least twice, so all its rows are in
--   repeat_rows (the narrow rows of the keys seen more than once, a few per cent of the store):
--   a monthly check reads neither the history nor a GROUP BY of its own month. Empty without
--   --month.
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
    r.product_no,
    r.invalid_raw,
    r.invalid_reason
FROM repeat_rows r
WHERE r.month < $month_lo
  AND r.code_key IN (
      SELECT s.code_key FROM repeat_rows s
      WHERE s.month >= $month_lo
        AND s.month <= $month_hi
  )
