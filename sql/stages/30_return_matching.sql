-- stage: return_matching
-- needs: code_events
-- meaning: returns matched to sales, per (pharmacy, code), for the pharmacies and codes that
--   have a return (all other sales stand). Over the unique events (dup_rank = 1) in the order
--   (ts, sales before returns at equal ts, event_id), each return cancels the latest
--   not-yet-cancelled sale at or before it. Parenthesis matching with a running sum s
--   (+1 sale, -1 return): a sale is cancelled iff min(s over later positions) <= s before it;
--   a return is unmatched iff s after it < least(0, min(s over earlier positions)).
WITH u AS (
    SELECT
        c.event_id, c.code_key, c.drug_trac_codg, c.kind, c.fixmedins_code, c.ts,
        CASE WHEN c.kind = 'sale' THEN 1 ELSE -1 END AS step,
        CASE WHEN c.kind = 'sale' THEN 0 ELSE 1 END AS kind_order
    FROM code_events c
    WHERE c.dup_rank = 1
      AND EXISTS (
          SELECT 1 FROM code_events r
          WHERE r.kind = 'return'
            AND r.code_key = c.code_key
            AND r.drug_trac_codg = c.drug_trac_codg
            AND r.fixmedins_code = c.fixmedins_code
      )
), running AS (
    SELECT
        u.*,
        SUM(u.step) OVER (
            PARTITION BY u.code_key, u.drug_trac_codg, u.fixmedins_code
            ORDER BY u.ts, u.kind_order, u.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS s_after
    FROM u
), bounds AS (
    SELECT
        r.*,
        MIN(r.s_after) OVER (
            PARTITION BY r.code_key, r.drug_trac_codg, r.fixmedins_code
            ORDER BY r.ts, r.kind_order, r.event_id
            ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
        ) AS min_later,
        MIN(r.s_after) OVER (
            PARTITION BY r.code_key, r.drug_trac_codg, r.fixmedins_code
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
    CASE WHEN b.kind = 'sale' AND b.min_later IS NOT NULL AND b.min_later <= b.s_after - 1
         THEN 1 ELSE 0 END AS cancelled,
    CASE WHEN b.kind = 'return'
              AND b.s_after < (CASE WHEN b.min_earlier IS NOT NULL AND b.min_earlier < 0
                                    THEN b.min_earlier ELSE 0 END)
         THEN 1 ELSE 0 END AS unmatched
FROM bounds b
