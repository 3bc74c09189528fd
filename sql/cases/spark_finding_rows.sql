-- relation: finding_rows
-- needs: spark_events
-- meaning: the flagged rows of a findings folder written by `check --engine spark` (its
--   suspicious_events.csv, read as text into spark_events) in the shape sync_cases takes: the
--   event id is a hash of (source_file, src_line), the same on every machine, since a folder
--   carries no store ids; the month is the row's own.
SELECT
    rule,
    drug_trac_codg,
    (md5_number(source_file || chr(31) || src_line) % 9223372036854775807)::BIGINT AS event_id,
    TRUE AS flagged,
    strftime(sel_retn_time::TIMESTAMP, '%Y-%m') AS month,
    fixmedins_code,
    sel_retn_time::TIMESTAMP AS sel_retn_time
FROM spark_events
WHERE flagged IN ('1', 'true', 'TRUE', 'True')
