-- stage: code_events
-- needs: candidates, history_rows, rule_events, rule_dict, withdrawn
-- meaning: every valid row of the candidate codes up to the end of the checked months (the
--   history cut-off), with dup_rank: 1 for the first copy (in ingest order) of a record
--   (pharmacy, receipt, code, kind), 2, 3 ... for re-uploaded copies. Rows come from the narrow
--   rule_events (the checked months) and history_rows (earlier months), strings from the
--   dictionary; the code's text is read from events for the checked months' rows and lent to
--   the earlier rows of the same code (matched on code_key and code_guard, so a row of another
--   code that shares the key is left out). A code is (code_key, drug_trac_codg); receipts are
--   compared by doc_guard. Rows a 3507 delete withdrew are left out.
WITH month_text AS (
    SELECT e.event_id, e.drug_trac_codg
    FROM events e
    WHERE e.code_status = 'valid'
      AND e.month >= $month_lo
      AND e.month <= $month_hi
      AND e.code_key IN (SELECT c.code_key FROM candidates c)
), month_rows AS (
    SELECT
        r.event_id, r.code_key, r.code_guard, t.drug_trac_codg, r.is_return, r.ph_id, r.doc_guard,
        r.med_id, r.product_no, r.trdn_flag, r.qty, r.insured, r.ts, r.sel_retn_time, r.month
    FROM rule_events r
    JOIN month_text t ON t.event_id = r.event_id
    WHERE r.valid = 1
      AND r.month >= $month_lo
      AND r.month <= $month_hi
      AND r.code_key IN (SELECT c.code_key FROM candidates c)
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = r.event_id)
), month_codes AS (
    SELECT DISTINCT code_key, code_guard, drug_trac_codg FROM month_rows
), earlier_rows AS (
    SELECT
        h.event_id, h.code_key, h.code_guard, m.drug_trac_codg, h.is_return, h.ph_id, h.doc_guard,
        h.med_id, h.product_no, h.trdn_flag, h.qty, h.insured, h.ts, h.sel_retn_time, h.month
    FROM history_rows h
    JOIN month_codes m
      ON m.code_key = h.code_key
     AND m.code_guard = h.code_guard
    WHERE h.valid = 1
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = h.event_id)
), rows_ AS (
    SELECT * FROM month_rows
    UNION ALL
    SELECT * FROM earlier_rows
), named AS (
    SELECT
        r.event_id,
        r.code_key,
        r.drug_trac_codg,
        CASE WHEN r.is_return = 1 THEN 'return' ELSE 'sale' END AS kind,
        p.value AS fixmedins_code,
        r.doc_guard,
        d.value AS med_list_codg,
        q.value AS product_id,
        r.trdn_flag,
        r.qty,
        r.insured,
        r.ts,
        r.sel_retn_time,
        r.month
    FROM rows_ r
    JOIN rule_dict p
      ON p.field = 'pharmacy'
     AND p.id = r.ph_id
    LEFT JOIN rule_dict d
      ON d.field = 'drug'
     AND d.id = r.med_id
    LEFT JOIN rule_dict q
      ON q.field = 'product'
     AND q.id = r.product_no
)
SELECT
    n.*,
    ROW_NUMBER() OVER (
        PARTITION BY n.code_key, n.drug_trac_codg, n.fixmedins_code, n.doc_guard, n.kind
        ORDER BY n.event_id
    ) AS dup_rank
FROM named n
