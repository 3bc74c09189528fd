-- relation: summary
-- needs: export_pharmacy_rows, export_scoped_rejects, export_evidence, deletes
-- meaning: summary.csv before its per-rule columns are spread: per pharmacy of the scope, its
--   latest name, code rows uploaded, rows rejected, rule_codes (the codes it has flagged rows
--   of, one count per rule of $rules, in that order), flagged rows and their share of the
--   rows uploaded, and flagged_amount: yuan, price x quantity over those rows (each once; empty
--   when none has a price); deletes: the 3507 deletes it sent in the scope; purchases_loaded:
--   1 when its purchases (3503/3504) are loaded up to the scope's end, so sale_without_purchase
--   judged it, else 0; highest share first.
WITH ev AS (
    SELECT c.fixmedins_code, arg_max(c.fixmedins_name, c.name_event_id) AS fixmedins_name,
           CAST(sum(c.n) AS BIGINT) AS rows_uploaded
    FROM export_pharmacy_rows c WHERE $scope = 'all' OR c.month = $scope GROUP BY c.fixmedins_code
),
rj AS (SELECT fixmedins_code, count(*) AS rows_rejected FROM export_scoped_rejects
       WHERE fixmedins_code IS NOT NULL GROUP BY fixmedins_code),
fx AS (SELECT x.fixmedins_code, x.rule, x.code_key, x.drug_trac_codg, x.event_id, x.price * coalesce(x.qty, 1) AS amount
       FROM export_evidence x WHERE x.flagged AND ($scope = 'all' OR x.month = $scope)),
fr AS (  -- per pharmacy: the codes it has flagged rows of, per rule (in $rules order); its flagged rows
    SELECT c.fixmedins_code,
           list_transform($rules, lambda r: coalesce(map_from_entries(list((c.rule, c.codes)))[r], 0)) AS rule_codes,
           any_value(n.flagged_rows) AS flagged_rows,
           any_value(n.flagged_amount) AS flagged_amount
    FROM (SELECT fixmedins_code, rule, count(*) AS codes
          FROM (SELECT DISTINCT fixmedins_code, rule, code_key, drug_trac_codg FROM fx) GROUP BY fixmedins_code, rule) c
    JOIN (SELECT fixmedins_code, count(*) AS flagged_rows, sum(amount) AS flagged_amount  -- each row once
          FROM (SELECT DISTINCT fixmedins_code, event_id, amount FROM fx) GROUP BY fixmedins_code) n
      USING (fixmedins_code)
    GROUP BY c.fixmedins_code
),
pj AS (  -- pharmacies with purchase data up to the scope's end: the ones sale_without_purchase judges
    SELECT c.fixmedins_code FROM export_pharmacy_rows c
    WHERE $scope = 'all' OR c.month <= $scope
    GROUP BY c.fixmedins_code HAVING sum(coalesce(c.purchase_rows, 0)) > 0
),
dl AS (  -- 3507 deletes sent by the pharmacy in the scope (by the time the delete was sent)
    SELECT d.fixmedins_code, count(*) AS deletes FROM deletes d
    WHERE $scope = 'all' OR strftime(d.deleted_at, '%Y-%m') = $scope
    GROUP BY d.fixmedins_code
),
p AS (SELECT fixmedins_code FROM ev UNION SELECT fixmedins_code FROM rj)
SELECT excel_safe(p.fixmedins_code) AS fixmedins_code,
       excel_safe(ev.fixmedins_name) AS fixmedins_name,
       coalesce(ev.rows_uploaded, 0) AS rows_uploaded,
       coalesce(rj.rows_rejected, 0) AS rows_rejected,
       coalesce(fr.rule_codes, list_transform($rules, lambda r: 0)) AS rule_codes,
       coalesce(fr.flagged_rows, 0) AS flagged_rows,
       coalesce(round(fr.flagged_rows / nullif(ev.rows_uploaded, 0), 4), 0) AS flagged_share,
       round(fr.flagged_amount, 2) AS flagged_amount,
       coalesce(dl.deletes, 0) AS deletes,
       CASE WHEN pj.fixmedins_code IS NULL THEN 0 ELSE 1 END AS purchases_loaded
FROM p LEFT JOIN ev USING (fixmedins_code) LEFT JOIN rj USING (fixmedins_code) LEFT JOIN fr USING (fixmedins_code)
LEFT JOIN dl USING (fixmedins_code) LEFT JOIN pj USING (fixmedins_code)
ORDER BY coalesce(fr.flagged_rows / nullif(ev.rows_uploaded, 0), 0) DESC,
         coalesce(fr.flagged_rows, 0) DESC, p.fixmedins_code
