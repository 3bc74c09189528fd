-- stage: rule_dict_new
-- persist: rule_dict
-- needs: events, files, rule_dict, rule_dict_files
-- meaning: new entries of the dictionary that gives each pharmacy code, drug code
--   (med_list_codg) and product id a small integer (ids never change once given), for the
--   files not processed yet. The runner appends them to the persistent table rule_dict.
WITH new_files AS (
    SELECT f.file_id FROM files f
    WHERE f.file_id NOT IN (SELECT d.file_id FROM rule_dict_files d)
), seen AS (
    SELECT DISTINCT 'pharmacy' AS field, e.fixmedins_code AS value
    FROM events e
    WHERE e.file_id IN (SELECT n.file_id FROM new_files n)
    UNION
    SELECT DISTINCT 'drug' AS field, e.med_list_codg AS value
    FROM events e
    WHERE e.file_id IN (SELECT n.file_id FROM new_files n)
      AND e.med_list_codg IS NOT NULL
    UNION
    SELECT DISTINCT 'product' AS field, e.product_id AS value
    FROM events e
    WHERE e.file_id IN (SELECT n.file_id FROM new_files n)
      AND e.product_id IS NOT NULL
), fresh AS (
    SELECT s.field, s.value
    FROM seen s
    WHERE NOT EXISTS (
        SELECT 1 FROM rule_dict d WHERE d.field = s.field AND d.value = s.value
    )
)
SELECT
    f.field,
    CAST((SELECT COALESCE(MAX(d.id), 0) FROM rule_dict d)
         + ROW_NUMBER() OVER (ORDER BY f.field, f.value) AS INTEGER) AS id,
    f.value
FROM fresh f
