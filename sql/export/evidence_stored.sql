-- relation: export_evidence
-- needs: finding_events, finding_evidence, events
-- meaning: the same rows and columns as evidence_events.sql when finding_evidence does not
--   hold every row of the scope $scope (earlier months of a --month check, a store checked
--   before finding_evidence, or by an earlier tracecode since): the event columns of the
--   stored events come from finding_evidence, the others are read from events, which is not
--   read at all when there are none.
WITH fe AS (
    SELECT rule, code_key, drug_trac_codg, flagged, event_id FROM finding_events WHERE month = $scope
), stored AS (
    SELECT DISTINCT ON (event_id) event_id, fixmedins_code, fixmedins_name, rtal_docno, sel_retn_time, kind,
           med_list_codg, sel_retn_cnt, qty, price, trdn_flag, insured, setl_id, psn_no, file_id, src_line, code_raw,
           fixmedins_hilist_name, event_month AS month
    FROM finding_evidence WHERE month = $scope
), fetched AS MATERIALIZED (  -- its own plan: the optimiser may not join events to fe first
    SELECT e.event_id, e.fixmedins_code, e.fixmedins_name, e.rtal_docno, e.sel_retn_time, e.kind,
           e.med_list_codg, e.sel_retn_cnt, e.qty, e.price, e.trdn_flag, e.insured, e.setl_id, e.psn_no, e.file_id,
           e.src_line, e.code_raw, e.fixmedins_hilist_name, e.month
    FROM events e
    WHERE e.event_id IN (SELECT event_id FROM fe WHERE event_id NOT IN (SELECT event_id FROM stored))
), x AS (
    SELECT * FROM stored
    UNION ALL
    SELECT * FROM fetched
)
SELECT fe.rule, fe.code_key, fe.drug_trac_codg, fe.flagged, fe.event_id,
       x.fixmedins_code, x.fixmedins_name, x.rtal_docno, x.sel_retn_time, x.kind, x.med_list_codg,
       x.sel_retn_cnt, x.qty, x.price, x.trdn_flag, x.insured, x.setl_id, x.psn_no, x.file_id, x.src_line,
       x.code_raw, x.fixmedins_hilist_name, x.month
FROM fe JOIN x ON x.event_id = fe.event_id
