-- stage: scope_codes
-- needs: events
-- meaning: one row per code_key with a row in the months being checked ($month_lo ..
--   $month_hi): how many valid rows it has there and whether one is a return. Invalid rows
--   are kept (n_rows 0) so that their earlier rows are fetched in the same pass as the valid
--   ones. The cheap first narrowing: a GROUP BY on the 64-bit key over the checked months only.
SELECT
    code_key,
    SUM(CASE WHEN code_status = 'valid' THEN 1 ELSE 0 END) AS n_rows,
    MAX(CASE WHEN code_status = 'valid' AND kind = 'return' THEN 1 ELSE 0 END) AS has_return
FROM events
WHERE month >= $month_lo
  AND month <= $month_hi
GROUP BY code_key
