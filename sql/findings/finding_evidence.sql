-- relation: (the rows of finding_evidence for the month scope $scope)
-- needs: finding_events, evidence_new, finding_evidence, files
-- meaning: every evidence row of the scope (finding_events, all rules: those just checked and
--   the others) with its event's columns (evidence_new, else any stored row of the event) and
--   the file's name, in the order suspicious_events.csv lists them ($rules: every rule id, in
--   rule order). Rows whose event's columns are not at hand are left out.
WITH columns_ AS (
    SELECT * FROM evidence_new
    UNION ALL
    SELECT DISTINCT ON (x.event_id)
        x.event_id, x.code_raw, x.kind, x.fixmedins_code, x.fixmedins_name, x.rtal_docno, x.med_list_codg,
        x.fixmedins_hilist_name, x.product_id, x.setl_id, x.psn_no, x.trdn_flag, x.sel_retn_cnt, x.qty, x.price,
        x.insured, x.sel_retn_time, x.ts, x.event_month, x.file_id, x.src_line
    FROM finding_evidence x
    WHERE x.event_id IN (SELECT f.event_id FROM finding_events f WHERE f.month = $scope)
      AND x.event_id NOT IN (SELECT n.event_id FROM evidence_new n)
)
SELECT
    fe.month, fe.rule, fe.code_key, fe.drug_trac_codg, fe.flagged, fe.event_id,
    c.code_raw, c.kind, c.fixmedins_code, c.fixmedins_name, c.rtal_docno, c.med_list_codg, c.fixmedins_hilist_name,
    c.product_id, c.setl_id, c.psn_no, c.trdn_flag, c.sel_retn_cnt, c.qty, c.price, c.insured, c.sel_retn_time,
    c.ts, c.event_month, c.file_id, c.src_line, fl.name AS source_file
FROM finding_events fe
JOIN columns_ c ON c.event_id = fe.event_id
JOIN files fl ON fl.file_id = c.file_id
WHERE fe.month = $scope
ORDER BY list_position($rules, fe.rule), fe.rule, fe.drug_trac_codg, fe.code_key, c.sel_retn_time, fe.event_id
