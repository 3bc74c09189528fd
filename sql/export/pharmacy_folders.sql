-- relation: pharmacy_folders
-- needs: export_pharmacies
-- meaning: pharmacy_folders.csv: each pharmacy's code and the name of its folder, in pidx order.
SELECT excel_safe(fixmedins_code) AS fixmedins_code,
       excel_safe(folder) AS folder
FROM export_pharmacies ORDER BY pidx
