-- relation: export_pharmacy_codes
-- needs: export_pharmacy_rows, export_scoped_rejects
-- meaning: the pharmacy codes that get a folder of their own: those with code rows in the scope
--   $scope, or rejects of it, sorted.
SELECT DISTINCT fixmedins_code FROM (
    SELECT fixmedins_code FROM export_pharmacy_rows c WHERE $scope = 'all' OR c.month = $scope
    UNION
    SELECT fixmedins_code FROM export_scoped_rejects WHERE fixmedins_code IS NOT NULL
) ORDER BY fixmedins_code
