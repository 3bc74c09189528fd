-- relation: the per-rule summary printed by `check`
-- needs: finding_rows, rule_meta, new_findings
-- meaning: per rule: codes with a finding, flagged rows inside the checked months, and the
--   distinct pharmacies of those rows (the pharmacies whose uploads triggered the rule), and
--   amount: the sum of the findings' amounts in yuan (NULL when no flagged row has a price).
WITH flagged_in_scope AS (
    SELECT r.rule, r.fixmedins_code
    FROM finding_rows r
    WHERE r.flagged
      AND r.month >= $month_lo
      AND r.month <= $month_hi
), codes AS (
    SELECT rule, COUNT(*) AS codes
    FROM (SELECT DISTINCT rule, code_key, drug_trac_codg FROM finding_rows) k
    GROUP BY rule
), rows_ AS (
    SELECT rule, COUNT(*) AS n_rows, COUNT(DISTINCT fixmedins_code) AS pharmacies
    FROM flagged_in_scope
    GROUP BY rule
), amounts AS (
    SELECT rule,
           CAST(SUM(CAST(FLOOR(amount * 100 + CAST(0.5 AS DOUBLE)) AS BIGINT)) AS DOUBLE) / 100 AS amount
    FROM new_findings
    GROUP BY rule
)
SELECT
    m.rule,
    m.label_zh,
    m.severity,
    COALESCE(c.codes, 0) AS codes,
    COALESCE(r.n_rows, 0) AS n_rows,
    COALESCE(r.pharmacies, 0) AS pharmacies,
    a.amount
FROM rule_meta m
LEFT JOIN codes c ON c.rule = m.rule
LEFT JOIN rows_ r ON r.rule = m.rule
LEFT JOIN amounts a ON a.rule = m.rule
ORDER BY m.position
