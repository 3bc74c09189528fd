-- relation: uncoded_sales_per_pharmacy
-- needs: export_evidence, export_pharmacies
-- meaning: uncoded_sales.csv of each pharmacy (pidx first, sorted by it): its own rows of
--   uncoded_sales.sql.
SELECT px.pidx,
       excel_safe(x.fixmedins_code) AS fixmedins_code,
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
JOIN export_pharmacies px ON px.fixmedins_code = x.fixmedins_code
WHERE x.rule = 'uncoded_sale' AND x.flagged AND ($scope = 'all' OR x.month = $scope)
GROUP BY px.pidx, x.fixmedins_code, x.med_list_codg
ORDER BY px.pidx, x.fixmedins_code, x.med_list_codg
