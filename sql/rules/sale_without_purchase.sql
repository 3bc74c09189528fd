-- rule: sale_without_purchase
-- severity: medium
-- label_zh: 无采购记录的销售
-- needs: events, withdrawn
-- evidence: flagged
-- meaning: a sale (3505, valid code) of the checked months by a pharmacy whose purchases are
--   loaded (it has at least one purchase or purchase return up to the cut-off) of a code that
--   pharmacy had not bought before the sale: purchases (3503) minus purchase returns (3504)
--   of the code at that pharmacy up to the sale's time are not above zero. Pharmacies without
--   purchase data are not judged. The detail names the pharmacies that did buy the code.
WITH judged AS (
    SELECT DISTINCT e.fixmedins_code
    FROM events e
    WHERE e.kind IN ('purchase', 'purchase_return')
      AND e.month <= $month_hi
), moves AS (
    SELECT
        e.code_key, e.drug_trac_codg, e.fixmedins_code, e.ts,
        CASE WHEN e.kind = 'purchase' THEN 1 ELSE -1 END AS step
    FROM events e
    WHERE e.kind IN ('purchase', 'purchase_return')
      AND e.code_status = 'valid'
      AND e.month <= $month_hi
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = e.event_id)
), sales_ AS (
    SELECT e.event_id, e.code_key, e.drug_trac_codg, e.fixmedins_code, e.ts
    FROM events e
    WHERE e.kind = 'sale'
      AND e.code_status = 'valid'
      AND e.month >= $month_lo
      AND e.month <= $month_hi
      AND e.fixmedins_code IN (SELECT j.fixmedins_code FROM judged j)
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = e.event_id)
), unbought AS (
    SELECT s.event_id, s.code_key, s.drug_trac_codg
    FROM sales_ s
    WHERE COALESCE((
        SELECT SUM(m.step) FROM moves m
        WHERE m.code_key = s.code_key
          AND m.drug_trac_codg = s.drug_trac_codg
          AND m.fixmedins_code = s.fixmedins_code
          AND m.ts <= s.ts
    ), 0) <= 0
), buyers AS (
    SELECT m.code_key, m.drug_trac_codg, MIN(m.fixmedins_code) AS first_buyer,
           COUNT(DISTINCT m.fixmedins_code) AS n_buyers
    FROM moves m
    WHERE m.step = 1
      AND m.code_key IN (SELECT u.code_key FROM unbought u)
    GROUP BY m.code_key, m.drug_trac_codg
)
SELECT
    u.code_key,
    u.drug_trac_codg,
    u.event_id,
    'sold by a pharmacy with no purchase of this pack before the sale (purchases net of returns)'
        || CASE WHEN b.first_buyer IS NULL THEN ' — no pharmacy bought it'
                WHEN b.n_buyers = 1 THEN ' — bought by ' || b.first_buyer
                ELSE ' — bought by ' || b.first_buyer || ' and '
                     || CAST(b.n_buyers - 1 AS VARCHAR) || ' other pharmacies' END AS detail
FROM unbought u
LEFT JOIN buyers b
  ON b.code_key = u.code_key
 AND b.drug_trac_codg = u.drug_trac_codg
