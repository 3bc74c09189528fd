-- relation: pharmacy_rows_complete
-- needs: files, pharmacy_rows_files
-- meaning: one boolean: whether the store's pharmacy_rows covers every file (and there is one).
SELECT (SELECT count(*) FROM files) > 0
    AND NOT EXISTS (SELECT 1 FROM files WHERE file_id NOT IN (SELECT file_id FROM pharmacy_rows_files))
