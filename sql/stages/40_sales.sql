-- stage: sales
-- needs: code_events, return_matching
-- meaning: the sales the code-level rules judge: unique (not a re-uploaded copy) and not
--   cancelled by a return.
SELECT
    c.event_id,
    c.code_key,
    c.drug_trac_codg,
    c.fixmedins_code,
    c.med_list_codg,
    c.trdn_flag,
    c.qty,
    c.insured,
    c.ts,
    c.sel_retn_time,
    c.month
FROM code_events c
WHERE c.dup_rank = 1
  AND c.kind = 'sale'
  AND NOT EXISTS (
      SELECT 1 FROM return_matching r
      WHERE r.event_id = c.event_id
        AND r.cancelled = 1
  )
