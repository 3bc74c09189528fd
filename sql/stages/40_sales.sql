-- stage: sales
-- needs: return_matching
-- meaning: the sales the code-level rules judge: unique (not a re-uploaded copy) and not
--   cancelled by a return.
SELECT
    r.event_id,
    r.code_key,
    r.drug_trac_codg,
    r.fixmedins_code,
    r.rtal_docno,
    r.med_list_codg,
    r.trdn_flag,
    r.qty,
    r.insured,
    r.ts,
    r.sel_retn_time,
    r.month
FROM return_matching r
WHERE r.kind = 'sale'
  AND r.cancelled = 0
