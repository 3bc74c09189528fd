-- relation: suspicious_codes
-- needs: findings
-- meaning: suspicious_codes.csv: one row per (code, rule) finding of the month scope $scope,
--   in rule order ($rules), then most occurrences first. Text cells through excel_safe (the
--   formula guard). amount: yuan, empty when no flagged row has a price.
SELECT excel_safe(f.drug_trac_codg) AS drug_trac_codg,
       excel_safe(f.rule) AS rule,
       excel_safe(shown_severity(f.severity, $lang)) AS severity,
       excel_safe(f.label_zh) AS label_zh,
       f.first_seen AS first_seen,
       f.last_seen AS last_seen,
       f.occurrences AS occurrences,
       f.pharmacies AS pharmacies,
       excel_safe(f.pharmacy_list) AS pharmacy_list,
       excel_safe(shown_text(f.detail, $lang)) AS detail,
       excel_safe(f.month) AS month,
       round(f.amount, 2) AS amount
FROM findings f WHERE f.month = $scope
ORDER BY list_position($rules, f.rule), f.rule, f.occurrences DESC, f.drug_trac_codg, f.code_key
