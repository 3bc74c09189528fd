-- relation: suspicious_codes_per_pharmacy
-- needs: findings, export_evidence, export_pharmacies
-- meaning: suspicious_codes.csv of each pharmacy (pidx first, sorted by it): the findings in
--   which at least one of its own rows is flagged (mine), with first/last seen and occurrences
--   over its own evidence rows (own); pharmacy_list names only itself, and every other
--   pharmacy's code and name in detail (named, longest first) reads $other; amount over its own
--   flagged rows.
WITH mine AS (
    SELECT DISTINCT x.fixmedins_code, x.rule, x.code_key, x.drug_trac_codg
    FROM export_evidence x WHERE x.flagged AND ($scope = 'all' OR x.month = $scope)
),
own AS (
    SELECT m.fixmedins_code, m.rule, m.code_key, m.drug_trac_codg, min(x.sel_retn_time) AS first_seen,
           max(x.sel_retn_time) AS last_seen, count(*) AS occurrences,
           sum(CASE WHEN x.flagged AND ($scope = 'all' OR x.month = $scope)
                    THEN x.price * coalesce(x.qty, 1) END) AS amount
    FROM export_evidence x
    JOIN mine m ON m.fixmedins_code = x.fixmedins_code AND m.rule = x.rule AND m.code_key = x.code_key
                AND m.drug_trac_codg = x.drug_trac_codg
    GROUP BY ALL
),
named AS (  -- every pharmacy code and name in the finding's evidence (for scrubbing)
    SELECT DISTINCT x.rule, x.code_key, x.drug_trac_codg, x.fixmedins_code AS code, v
    FROM export_evidence x, unnest([x.fixmedins_code, x.fixmedins_name]) AS t(v)
    WHERE v IS NOT NULL AND v <> ''
      AND (x.rule, x.code_key, x.drug_trac_codg) IN (SELECT (rule, code_key, drug_trac_codg) FROM mine)
),
o AS (
    SELECT own.*, p.pidx,
           (SELECT list(n.v ORDER BY length(n.v) DESC, n.v) FROM named n
            WHERE n.rule = own.rule AND n.code_key = own.code_key AND n.drug_trac_codg = own.drug_trac_codg
              AND n.code <> own.fixmedins_code AND n.v <> own.fixmedins_code) AS others
    FROM own JOIN export_pharmacies p ON p.fixmedins_code = own.fixmedins_code
)
SELECT o.pidx,
       excel_safe(f.drug_trac_codg) AS drug_trac_codg,
       excel_safe(f.rule) AS rule,
       excel_safe(shown_severity(f.severity, $lang)) AS severity,
       excel_safe(f.label_zh) AS label_zh,
       o.first_seen AS first_seen,
       o.last_seen AS last_seen,
       o.occurrences AS occurrences,
       f.pharmacies AS pharmacies,
       excel_safe(o.fixmedins_code) AS pharmacy_list,
       excel_safe(shown_text(list_reduce(coalesce(o.others, []), lambda acc, x: replace(acc, x, $other), f.detail), $lang)) AS detail,
       excel_safe(f.month) AS month,
       round(o.amount, 2) AS amount
FROM o JOIN findings f ON f.month = $scope AND f.rule = o.rule AND f.code_key = o.code_key
                      AND f.drug_trac_codg = o.drug_trac_codg
ORDER BY o.pidx, list_position($rules, f.rule), f.rule, f.occurrences DESC, f.drug_trac_codg, f.code_key
