-- relation: export_pharmacy_rows
-- needs: events
-- meaning: the same columns as pharmacy_rows_stored.sql counted from events (a database not
--   ingested or checked since pharmacy_rows existed).
SELECT file_id, month, fixmedins_code, sum(CASE WHEN kind IN ('sale', 'return') THEN 1 ELSE 0 END) AS n, arg_max(fixmedins_name, event_id) AS fixmedins_name,
       max(CASE WHEN fixmedins_name IS NOT NULL THEN event_id END) AS name_event_id,
       sum(CASE WHEN kind IN ('purchase', 'purchase_return') THEN 1 ELSE 0 END) AS purchase_rows
FROM events GROUP BY file_id, month, fixmedins_code
