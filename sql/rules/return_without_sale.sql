-- rule: return_without_sale
-- severity: medium
-- label_zh: 无销售记录的退货
-- needs: return_matching
-- meaning: a return (3506) with no earlier, not yet cancelled sale of the same code at the
--   same pharmacy to cancel. Flags the return.
WITH orphans AS (
    SELECT
        r.code_key,
        r.drug_trac_codg,
        r.event_id,
        COUNT(*) OVER (PARTITION BY r.code_key, r.drug_trac_codg) AS n_returns
    FROM return_matching r
    WHERE r.kind = 'return'
      AND r.unmatched = 1
)
SELECT
    code_key,
    drug_trac_codg,
    event_id,
    CAST(n_returns AS VARCHAR)
        || CASE WHEN n_returns = 1 THEN ' return' ELSE ' returns' END
        || ' with no earlier sale of this pack at the same pharmacy to cancel'
        || ' — the sale was never uploaded, or the return is fictitious' AS detail
FROM orphans
