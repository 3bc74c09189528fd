-- stage: code_events
-- needs: candidates, history_rows
-- meaning: every valid row of the candidate codes up to the end of the checked months (the
--   history cut-off), with dup_rank: 1 for the first copy (in ingest order) of a record
--   (pharmacy, receipt, code, kind), 2, 3 ... for re-uploaded copies. Earlier months' rows
--   come from history_rows (the one narrow pass over the history). A code is
--   (code_key, drug_trac_codg): the key narrows, the string guards against 64-bit collisions.
WITH rows_ AS (
    SELECT
        e.event_id, e.code_key, e.drug_trac_codg, e.kind, e.fixmedins_code, e.rtal_docno,
        e.med_list_codg, e.product_id, e.trdn_flag, e.qty, e.insured, e.ts, e.sel_retn_time, e.month
    FROM events e
    WHERE e.code_status = 'valid'
      AND e.month >= $month_lo
      AND e.month <= $month_hi
      AND e.code_key IN (SELECT c.code_key FROM candidates c)
    UNION ALL
    SELECT
        h.event_id, h.code_key, h.drug_trac_codg, h.kind, h.fixmedins_code, h.rtal_docno,
        h.med_list_codg, h.product_id, h.trdn_flag, h.qty, h.insured, h.ts, h.sel_retn_time, h.month
    FROM history_rows h
    WHERE h.code_status = 'valid'
)
SELECT
    r.*,
    ROW_NUMBER() OVER (
        PARTITION BY r.code_key, r.drug_trac_codg, r.fixmedins_code, r.rtal_docno, r.kind
        ORDER BY r.event_id
    ) AS dup_rank
FROM rows_ r
