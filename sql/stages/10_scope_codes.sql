-- stage: scope_codes
-- needs: events
-- meaning: one row per code_key with a valid row in the months being checked
--   ($month_lo .. $month_hi): how many rows it has there and whether one is a return.
--   The cheap first narrowing: a GROUP BY on the 64-bit key over the checked months only.
SELECT
    code_key,
    COUNT(*) AS n_rows,
    MAX(CASE WHEN kind = 'return' THEN 1 ELSE 0 END) AS has_return
FROM events
WHERE code_status = 'valid'
  AND month >= $month_lo
  AND month <= $month_hi
GROUP BY code_key
