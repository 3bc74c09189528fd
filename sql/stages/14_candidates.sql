-- stage: candidates
-- needs: repeat_rows, rule_events, pack_units, rule_dict
-- meaning: the code_keys of the checked months that can carry a code-level finding: seen more
--   than once in the store (repeat_rows: in the checked months, before or after them — a
--   superset), or with a return, or a lone split sale of more units than its pack holds (by
--   the catalogue). Every other code of the checked months has exactly one valid row up to the
--   cut-off, a sale within its pack: no rule but product_mismatch (a per-row rule, run on all
--   rows) can flag it. Narrowing on the key is a superset: two codes sharing a key both stay in.
SELECT r.code_key
FROM repeat_rows r
WHERE r.valid = 1
  AND r.month >= $month_lo
  AND r.month <= $month_hi
UNION
SELECT r.code_key
FROM rule_events r
WHERE r.valid = 1
  AND r.is_return = 1
  AND r.month >= $month_lo
  AND r.month <= $month_hi
UNION
SELECT r.code_key
FROM rule_events r
JOIN rule_dict d
  ON d.field = 'drug'
 AND d.id = r.med_id
JOIN pack_units u ON u.med_list_codg = d.value
WHERE r.valid = 1
  AND r.is_return = 0
  AND r.trdn_flag = 1
  AND r.month >= $month_lo
  AND r.month <= $month_hi
  AND r.qty > u.pack_units
