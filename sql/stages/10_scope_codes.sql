-- stage: scope_codes
-- needs: rule_events
-- meaning: one row per code_key with a row in the months being checked ($month_lo ..
--   $month_hi): how many valid rows it has there and whether one is a return. Invalid rows
--   are kept (n_rows 0) so that their earlier rows are found in the same pass as the valid
--   ones. The cheap first narrowing: a GROUP BY on the 64-bit key over the checked months only.
SELECT
    code_key,
    SUM(valid) AS n_rows,
    MAX(CASE WHEN valid = 1 AND is_return = 1 THEN 1 ELSE 0 END) AS has_return
FROM rule_events
WHERE month >= $month_lo
  AND month <= $month_hi
GROUP BY code_key
