-- relation: layout_events
-- needs: events
-- meaning: the events of the upload files $file_lo..$file_hi as the Parquet layout holds them
--   (ingest --to-parquet, export --parquet): every column, and the code-hash bucket of $buckets
--   they are partitioned by. The insured-person id masked when $mask ($mask_key), as every export
--   masks it.
SELECT * REPLACE (CASE WHEN $mask THEN masked_id(psn_no, $mask_key) ELSE psn_no END AS psn_no),
       CAST(((code_key % $buckets) + $buckets) % $buckets AS INTEGER) AS bucket
FROM events
WHERE file_id BETWEEN $file_lo AND $file_hi
