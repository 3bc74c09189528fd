-- stage: history_codes
-- needs: scope_codes
-- meaning: the checked months' code_keys that also have a valid row in an earlier month.
--   A semi-join of the history on the 64-bit key (DuckDB pushes a Bloom filter of the
--   month's keys into the scan, so history costs one pass over the code_key column).
SELECT DISTINCT code_key
FROM events
WHERE code_status = 'valid'
  AND month < $month_lo
  AND code_key IN (SELECT code_key FROM scope_codes)
