-- relation: export_scoped_rejects
-- needs: rejects, files, export_pharmacy_rows
-- meaning: the rejects of the month scope (the session variable export_scope, 'all' for every
--   month) with the pharmacy they belong to (fixmedins_code): the record's own pharmacy code,
--   else the one pharmacy of its file (when the file holds one), else NULL (shown only in the
--   bureau's files). A month's rejects are those of the files holding rows of the month, and
--   of the files from which no row could be read. A view (read by rejects, summary and the
--   list of pharmacies).
SELECT r.*, coalesce(nullif(trim(r.raw_record ->> 'fixmedins_code'), ''), fp.code) AS fixmedins_code
FROM rejects r
LEFT JOIN (SELECT file_id, min(fixmedins_code) AS code FROM export_pharmacy_rows
           WHERE file_id IN (SELECT file_id FROM rejects)
           GROUP BY file_id HAVING min(fixmedins_code) = max(fixmedins_code)) fp USING (file_id)
WHERE getvariable('export_scope') = 'all'
   OR r.file_id IN (SELECT file_id FROM files WHERE events = 0)
   OR r.file_id IN (SELECT DISTINCT file_id FROM export_pharmacy_rows WHERE month = getvariable('export_scope'))
