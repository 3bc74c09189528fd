-- stage: product_counts_new
-- persist: product_counts
-- needs: events, files, product_counts_files
-- meaning: per-file counts of valid sale rows by (month, product_id, med_list_codg) for the
--   files not summarised yet. The runner appends them to the persistent table product_counts
--   (and the file ids to product_counts_files), so that the product_mismatch majority over
--   the whole history never re-reads old months: each file is counted once, ever.
SELECT
    e.file_id,
    e.month,
    e.product_id,
    e.med_list_codg,
    COUNT(*) AS n
FROM events e
WHERE e.kind = 'sale'
  AND e.code_status = 'valid'
  AND e.med_list_codg IS NOT NULL
  AND e.product_id IS NOT NULL
  AND e.file_id IN (
      SELECT f.file_id FROM files f
      WHERE f.file_id NOT IN (SELECT s.file_id FROM product_counts_files s)
  )
GROUP BY e.file_id, e.month, e.product_id, e.med_list_codg
