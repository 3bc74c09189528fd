-- stage: candidates
-- needs: scope_codes, history_codes
-- meaning: the code_keys that can carry a code-level finding: seen more than once (in the
--   checked months or before), or with a return or a split sale. Every other code of the
--   checked months has exactly one valid row, a whole-pack sale: no rule but
--   product_mismatch (a per-row rule) can flag it.
SELECT code_key FROM scope_codes WHERE n_rows > 1 OR n_special = 1
UNION
SELECT code_key FROM history_codes
