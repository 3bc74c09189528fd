-- stage: repeat_rows_new
-- persist: repeat_rows
-- needs: rule_events, repeat_rows, repeat_rows_files
-- meaning: the rows to add to repeat_rows — the narrow rows (rule_events) of every code_key that
--   occurs more than once in the store — for the files not processed yet: their own rows of
--   keys seen twice, and the earlier rows of keys that repeat for the first time. A monthly
--   check reads a code's earlier rows from this small table, never the whole history: the
--   history is matched against each new file's keys once, when the file is first processed
--   (by check, or by update_summaries() after an ingest).
WITH new_files AS (
    SELECT f.file_id FROM files f
    WHERE f.file_id NOT IN (SELECT p.file_id FROM repeat_rows_files p)
), new_rows AS (
    -- sales without a code (valid = 2) share code_key 0 and are no code's history
    SELECT r.* FROM rule_events r
    WHERE r.file_id IN (SELECT n.file_id FROM new_files n)
      AND r.valid <> 2
), new_keys AS (
    SELECT code_key, COUNT(*) AS n FROM new_rows GROUP BY code_key
), old_keys AS (
    SELECT DISTINCT r.code_key
    FROM rule_events r
    WHERE r.file_id NOT IN (SELECT n.file_id FROM new_files n)
      AND r.valid <> 2
      AND r.code_key IN (SELECT k.code_key FROM new_keys k)
), repeat_keys AS (
    SELECT code_key FROM new_keys WHERE n > 1
    UNION
    SELECT code_key FROM old_keys
), first_repeats AS (
    -- NOT EXISTS, not NOT IN: Spark runs a NOT IN as a null-aware anti join, which it can only
    -- do by broadcasting repeat_rows whole (billions of rows for a province).
    SELECT o.code_key FROM old_keys o
    WHERE NOT EXISTS (SELECT 1 FROM repeat_rows p WHERE p.code_key = o.code_key)
)
SELECT n.* FROM new_rows n
WHERE n.code_key IN (SELECT k.code_key FROM repeat_keys k)
UNION ALL
SELECT r.* FROM rule_events r
WHERE r.file_id NOT IN (SELECT n.file_id FROM new_files n)
  AND r.valid <> 2
  AND r.code_key IN (SELECT f.code_key FROM first_repeats f)
