-- relation: recycled_evidence
-- needs: finding_events, events
-- meaning: every evidence row of the recycled_resale findings of the month scope $scope (all
--   valid rows of each such code up to the check's cut-off, flagged = the rule blames the row),
--   with the columns of the rules' code_events stage (dup_rank: 1 for the first copy, in
--   ingest order, of a record (pharmacy, receipt, code, kind)) plus the person, names and
--   price. The one pass over events of `people` and `rings`: the rules' own stages from
--   code_events to sales (duplicate copies dropped, returns matched) then run over these few
--   codes, not over the whole history. (e.month <= $month_hi changes nothing, the evidence
--   stops at the cut-off, but lets the scan skip the row groups of later months.)
SELECT
    fe.flagged,
    e.event_id,
    e.code_key,
    e.drug_trac_codg,
    e.kind,
    e.fixmedins_code,
    e.fixmedins_name,
    e.rtal_docno,
    e.med_list_codg,
    e.fixmedins_hilist_name,
    e.product_id,
    e.trdn_flag,
    e.qty,
    e.price,
    e.insured,
    e.psn_no,
    e.ts,
    e.sel_retn_time,
    e.month,
    ROW_NUMBER() OVER (
        PARTITION BY e.fixmedins_code, e.rtal_docno, e.code_key, e.drug_trac_codg, e.kind
        ORDER BY e.event_id
    ) AS dup_rank
FROM finding_events fe
JOIN events e ON e.event_id = fe.event_id
WHERE fe.month = $scope
  AND fe.rule = 'recycled_resale'
  AND e.month <= $month_hi
