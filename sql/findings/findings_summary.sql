-- relation: the per-rule summary printed by `check`
-- needs: finding_rows, rule_meta
-- meaning: per rule: codes with a finding, flagged rows inside the checked months, and the
--   distinct pharmacies of those rows (the pharmacies whose uploads triggered the rule).
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
)
SELECT
    m.rule,
    m.label_zh,
    m.severity,
    COALESCE(c.codes, 0) AS codes,
    COALESCE(r.n_rows, 0) AS n_rows,
    COALESCE(r.pharmacies, 0) AS pharmacies
FROM rule_meta m
LEFT JOIN codes c ON c.rule = m.rule
LEFT JOIN rows_ r ON r.rule = m.rule
ORDER BY m.position
