-- stage: history_codes
-- needs: history_rows
-- meaning: the checked months' code_keys that also have a valid row in an earlier month.
SELECT DISTINCT code_key
FROM history_rows
WHERE valid = 1
