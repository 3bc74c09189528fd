-- stage: code_events
-- needs: candidates
-- meaning: every valid row of the candidate codes up to the end of the checked months
--   (the history cut-off), with dup_rank: 1 for the first copy (in ingest order) of a record
--   (pharmacy, receipt, code, kind), 2, 3 ... for re-uploaded copies. The code is identified
--   by (code_key, drug_trac_codg): the key narrows, the string guards against collisions.
SELECT
    e.event_id,
    e.code_key,
    e.drug_trac_codg,
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
    e.month,
    ROW_NUMBER() OVER (
        PARTITION BY e.fixmedins_code, e.rtal_docno, e.code_key, e.drug_trac_codg, e.kind
        ORDER BY e.event_id
    ) AS dup_rank
FROM events e
WHERE e.code_status = 'valid'
  AND e.month <= $month_hi
  AND e.code_key IN (SELECT c.code_key FROM candidates c)
