-- stage: pharmacy_rows_new
-- persist: pharmacy_rows
-- needs: events, files, pharmacy_rows_files
-- meaning: for the files not summarised yet, per file, month and pharmacy: the code rows
--   uploaded (n: sale and return rows; purchases are no sale upload), the pharmacy's latest non-NULL name in the file (by event_id) and that
--   event's id, and its purchase rows (3503/3504). The runner appends them to the persistent table pharmacy_rows (each file is
--   read once, ever: by update_summaries() after an ingest, else by the next check); the
--   export reads summary.csv's rows uploaded and names, the pharmacies of a month and the
--   pharmacy of a one-pharmacy file from it, never counting the events. Not a rule stage: a
--   Spark check runs it over the events of the checked months and of the files with rejects
--   (tracecode.spark.output). The name is ordered by the event ids of named rows only:
--   DuckDB's MAX_BY skips NULL names, Spark's does not; both skip a NULL ordering value.
SELECT
    e.file_id,
    e.month,
    e.fixmedins_code,
    SUM(CASE WHEN e.kind IN ('sale', 'return') THEN 1 ELSE 0 END) AS n,
    MAX_BY(e.fixmedins_name, CASE WHEN e.fixmedins_name IS NOT NULL THEN e.event_id END) AS fixmedins_name,
    MAX(CASE WHEN e.fixmedins_name IS NOT NULL THEN e.event_id END) AS name_event_id,
    SUM(CASE WHEN e.kind IN ('purchase', 'purchase_return') THEN 1 ELSE 0 END) AS purchase_rows
FROM events e
WHERE e.file_id IN (
    SELECT f.file_id FROM files f
    WHERE f.file_id NOT IN (SELECT s.file_id FROM pharmacy_rows_files s)
)
GROUP BY e.file_id, e.month, e.fixmedins_code
