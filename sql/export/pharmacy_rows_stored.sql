-- relation: export_pharmacy_rows
-- needs: pharmacy_rows
-- meaning: the code rows per file, month and pharmacy (n), the pharmacy's latest name and that
--   event's id, as the store keeps them (a view: when pharmacy_rows covers every file).
SELECT file_id, month, fixmedins_code, n, fixmedins_name, name_event_id, purchase_rows FROM pharmacy_rows
