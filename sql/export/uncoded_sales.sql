-- relation: uncoded_sales
-- needs: export_evidence
-- meaning: uncoded_sales.csv: one row per pharmacy and drug with uncoded_sale rows flagged in the
--   month scope $scope: the sales without a code (sales, their quantity sel_retn_cnt and amount
--   in yuan: price x quantity, empty when no price), first and last sale; most sales first.
SELECT excel_safe(x.fixmedins_code) AS fixmedins_code,
       excel_safe(arg_max(x.fixmedins_name, x.sel_retn_time)) AS fixmedins_name,
       excel_safe(x.med_list_codg) AS med_list_codg,
       excel_safe(arg_max(x.fixmedins_hilist_name, x.sel_retn_time)) AS fixmedins_hilist_name,
       count(*) AS sales,
       sum(x.sel_retn_cnt) AS quantity,
       round(sum(x.price * coalesce(x.qty, 1)), 2) AS amount,
       min(x.sel_retn_time) AS first_seen,
       max(x.sel_retn_time) AS last_seen,
       excel_safe($scope) AS month
FROM export_evidence x
WHERE x.rule = 'uncoded_sale' AND x.flagged AND ($scope = 'all' OR x.month = $scope)
GROUP BY x.fixmedins_code, x.med_list_codg
ORDER BY x.fixmedins_code, x.med_list_codg
