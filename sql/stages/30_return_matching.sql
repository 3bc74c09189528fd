-- stage: return_matching
-- needs: code_events
-- meaning: the unique events (dup_rank = 1) of the candidate codes, with returns matched to
--   sales per (pharmacy, code): in the order (ts, sales before returns at equal ts, event_id)
--   each return cancels the latest not-yet-cancelled sale at or before it. Parenthesis
--   matching with a running sum s (+1 sale, -1 return):
--   a sale is cancelled iff min(s over later positions) <= s before it;
--   a return is unmatched iff s after it < least(0, min(s over earlier positions)).
WITH u AS (
    SELECT
        c.*,
        CASE WHEN c.kind = 'sale' THEN 1 ELSE -1 END AS step,
        CASE WHEN c.kind = 'sale' THEN 0 ELSE 1 END AS kind_order
    FROM code_events c
    WHERE c.dup_rank = 1
), running AS (
    SELECT
        u.*,
        SUM(u.step) OVER (
            PARTITION BY u.fixmedins_code, u.code_key, u.drug_trac_codg
            ORDER BY u.ts, u.kind_order, u.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS s_after
    FROM u
), bounds AS (
    SELECT
        r.*,
        MIN(r.s_after) OVER (
            PARTITION BY r.fixmedins_code, r.code_key, r.drug_trac_codg
            ORDER BY r.ts, r.kind_order, r.event_id
            ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
        ) AS min_later,
        MIN(r.s_after) OVER (
            PARTITION BY r.fixmedins_code, r.code_key, r.drug_trac_codg
            ORDER BY r.ts, r.kind_order, r.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS min_earlier
    FROM running r
)
SELECT
    b.event_id,
    b.code_key,
    b.drug_trac_codg,
    b.kind,
    b.fixmedins_code,
    b.rtal_docno,
    b.med_list_codg,
    b.product_id,
    b.trdn_flag,
    b.qty,
    b.insured,
    b.ts,
    b.sel_retn_time,
    b.month,
    CASE WHEN b.kind = 'sale' AND b.min_later IS NOT NULL AND b.min_later <= b.s_after - 1
         THEN 1 ELSE 0 END AS cancelled,
    CASE WHEN b.kind = 'return'
              AND b.s_after < (CASE WHEN b.min_earlier IS NOT NULL AND b.min_earlier < 0
                                    THEN b.min_earlier ELSE 0 END)
         THEN 1 ELSE 0 END AS unmatched
FROM bounds b
