-- relation: export_evidence
-- needs: finding_events, events
-- meaning: the evidence rows of the month scope $scope (rule, code_key, drug_trac_codg,
--   flagged, event_id) with the event columns the files show, joined to events (the big table)
--   in one pass: what the report reads (the export reads finding_evidence).
SELECT fe.rule, fe.code_key, fe.drug_trac_codg, fe.flagged, fe.event_id,
       e.fixmedins_code, e.fixmedins_name, e.rtal_docno, e.sel_retn_time, e.kind, e.med_list_codg,
       e.sel_retn_cnt, e.qty, e.price, e.trdn_flag, e.insured, e.setl_id, e.psn_no, e.file_id, e.src_line,
       e.code_raw, e.fixmedins_hilist_name, e.month
FROM finding_events fe JOIN events e ON e.event_id = fe.event_id
WHERE fe.month = $scope
