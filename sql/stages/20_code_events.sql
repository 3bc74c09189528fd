-- stage: code_events
-- needs: candidates, history_rows, rule_dict
-- meaning: every valid row of the candidate codes up to the end of the checked months (the
--   history cut-off), with dup_rank: 1 for the first copy (in ingest order) of a record
--   (pharmacy, receipt, code, kind), 2, 3 ... for re-uploaded copies. The checked months' rows
--   come from events; earlier rows from history_rows, with their strings from the dictionary
--   and the code's text from its rows in the checked months (matched on code_key and
--   code_guard, so a history row of another code that shares the key is left out). A code is
--   (code_key, drug_trac_codg); receipts are compared by doc_guard.
WITH month_rows AS (
    SELECT
        e.event_id,
        e.code_key,
        guard_hash(e.drug_trac_codg) AS code_guard,
        e.drug_trac_codg,
        e.kind,
        e.fixmedins_code,
        guard_hash(e.rtal_docno) AS doc_guard,
        e.med_list_codg,
        e.product_id,
        e.trdn_flag,
        e.qty,
        e.insured,
        e.ts,
        e.sel_retn_time,
        e.month
    FROM events e
    WHERE e.code_status = 'valid'
      AND e.month >= $month_lo
      AND e.month <= $month_hi
      AND e.code_key IN (SELECT c.code_key FROM candidates c)
), month_codes AS (
    SELECT DISTINCT code_key, code_guard, drug_trac_codg FROM month_rows
), earlier_rows AS (
    SELECT
        h.event_id,
        h.code_key,
        h.code_guard,
        m.drug_trac_codg,
        CASE WHEN h.is_return = 1 THEN 'return' ELSE 'sale' END AS kind,
        p.value AS fixmedins_code,
        h.doc_guard,
        d.value AS med_list_codg,
        q.value AS product_id,
        h.trdn_flag,
        h.qty,
        h.insured,
        h.ts,
        h.sel_retn_time,
        h.month
    FROM history_rows h
    JOIN month_codes m
      ON m.code_key = h.code_key
     AND m.code_guard = h.code_guard
    JOIN rule_dict p
      ON p.field = 'pharmacy'
     AND p.id = h.ph_id
    LEFT JOIN rule_dict d
      ON d.field = 'drug'
     AND d.id = h.med_id
    LEFT JOIN rule_dict q
      ON q.field = 'product'
     AND q.id = h.product_no
    WHERE h.valid = 1
), rows_ AS (
    SELECT * FROM month_rows
    UNION ALL
    SELECT * FROM earlier_rows
)
SELECT
    r.*,
    ROW_NUMBER() OVER (
        PARTITION BY r.code_key, r.drug_trac_codg, r.fixmedins_code, r.doc_guard, r.kind
        ORDER BY r.event_id
    ) AS dup_rank
FROM rows_ r
