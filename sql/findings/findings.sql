-- relation: findings (one row per rule and code, for the month scope $scope)
-- needs: finding_rows, flagged, rule_meta, events
-- meaning: first/last time, rows and pharmacies over the finding's evidence; flagged_rows
--   counts the flagged rows inside the checked months; amount (yuan) sums price x quantity
--   (the code's share of its line, qty; 1 when unknown) over those same rows, NULL when none
--   has a price. The one DuckDB-specific piece of the
--   rule pipeline is STRING_AGG here (Spark: array_join(collect_list(...))).
WITH ev AS (
    SELECT rule, code_key, drug_trac_codg, flagged, sel_retn_time, fixmedins_code, month
    FROM finding_rows
), details AS (
    SELECT rule, code_key, drug_trac_codg, MAX(detail) AS detail
    FROM flagged
    GROUP BY rule, code_key, drug_trac_codg
), pharmacy_rows AS (
    SELECT rule, code_key, drug_trac_codg, fixmedins_code
    FROM ev
    GROUP BY rule, code_key, drug_trac_codg, fixmedins_code
), pharmacy_lists AS (
    SELECT
        rule, code_key, drug_trac_codg,
        COUNT(*) AS pharmacies,
        STRING_AGG(fixmedins_code, ',' ORDER BY fixmedins_code) AS pharmacy_list
    FROM pharmacy_rows
    GROUP BY rule, code_key, drug_trac_codg
), amounts AS (
    SELECT r.rule, r.code_key, r.drug_trac_codg, -- whole fen per row, added as integers: both engines agree whatever order they add in
        -- (ROUND is not portable)
        CAST(SUM(CAST(FLOOR(e.price * COALESCE(e.qty, 1) * 100 + CAST(0.5 AS DOUBLE)) AS BIGINT)) AS DOUBLE)
            / 100 AS amount
    FROM (
        SELECT DISTINCT rule, code_key, drug_trac_codg, event_id
        FROM finding_rows
        WHERE flagged AND month >= $month_lo AND month <= $month_hi
    ) r
    JOIN events e ON e.event_id = r.event_id
    GROUP BY r.rule, r.code_key, r.drug_trac_codg
), per_code AS (
    SELECT
        rule, code_key, drug_trac_codg,
        MIN(sel_retn_time) AS first_seen,
        MAX(sel_retn_time) AS last_seen,
        COUNT(*) AS occurrences,
        SUM(CASE WHEN flagged AND month >= $month_lo AND month <= $month_hi THEN 1 ELSE 0 END) AS flagged_rows
    FROM ev
    GROUP BY rule, code_key, drug_trac_codg
)
SELECT
    CAST($scope AS VARCHAR) AS month,
    p.rule,
    m.severity,
    m.label_zh,
    p.code_key,
    p.drug_trac_codg,
    p.first_seen,
    p.last_seen,
    p.occurrences,
    p.flagged_rows,
    l.pharmacies,
    l.pharmacy_list,
    d.detail,
    CAST($checked_at AS TIMESTAMP) AS checked_at,
    a.amount
FROM per_code p
JOIN rule_meta m ON m.rule = p.rule
JOIN pharmacy_lists l
  ON l.rule = p.rule AND l.code_key = p.code_key AND l.drug_trac_codg = p.drug_trac_codg
JOIN details d
  ON d.rule = p.rule AND d.code_key = p.code_key AND d.drug_trac_codg = p.drug_trac_codg
LEFT JOIN amounts a
  ON a.rule = p.rule AND a.code_key = p.code_key AND a.drug_trac_codg = p.drug_trac_codg
