-- relation: cases_open_new
-- needs: case_new_rows, cases
-- meaning: the cases this check opens (a (rule, subject) with no case yet), status new, their
--   figures from their first rows (recomputed by cases_refresh).
SELECT
    case_id, any_value(rule) AS rule, any_value(subject) AS subject, any_value(drug_trac_codg) AS drug_trac_codg,
    'new' AS status, min(sel_retn_time) AS first_seen, max(sel_retn_time) AS last_seen, count(*) AS flagged_rows,
    count(DISTINCT fixmedins_code) AS pharmacies,
    string_agg(DISTINCT fixmedins_code, ',' ORDER BY fixmedins_code) AS pharmacy_list, sum(amount) AS amount,
    NULL::DOUBLE AS recovered, NULL::VARCHAR AS reason, NULL::DATE AS until, CASE WHEN $scope = 'all' THEN min(month) ELSE $scope END AS opened_month,
    max(month) AS last_month, NULL::TIMESTAMP AS decided_at, '' AS fingerprint, 0::BIGINT AS version,
    $checked_at AS updated_at
FROM case_new_rows n
WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = n.case_id)
GROUP BY case_id
