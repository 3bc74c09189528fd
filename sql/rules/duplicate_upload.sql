-- rule: duplicate_upload
-- severity: low
-- label_zh: 重复上传
-- needs: code_events
-- meaning: the same record (pharmacy, receipt rtal_docno, code, kind) uploaded more than
--   once: a data error to correct, not fraud. A record without a receipt (a 3506 return) is
--   the same record when its fixmedins_bchno is, else when its time is (doc_guard). Flags every copy after the first (in ingest
--   order); the copies are ignored by the other rules.
WITH copies AS (
    SELECT
        c.code_key,
        c.drug_trac_codg,
        c.event_id,
        COUNT(*) OVER (PARTITION BY c.code_key, c.drug_trac_codg) AS n_copies
    FROM code_events c
    WHERE c.dup_rank > 1
)
SELECT
    code_key,
    drug_trac_codg,
    event_id,
    CAST(n_copies AS VARCHAR)
        || CASE WHEN n_copies = 1 THEN ' extra copy' ELSE ' extra copies' END
        || ' of the same record (same pharmacy, receipt and code) uploaded again'
        || ' — a data error to correct, not fraud' AS detail
FROM copies
