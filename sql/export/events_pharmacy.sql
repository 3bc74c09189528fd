-- relation: suspicious_events_per_pharmacy
-- needs: withdrawn_events, export_evidence, files, export_pharmacies
-- meaning: suspicious_events.csv of each pharmacy (pidx first, sorted by it): its own evidence
--   rows of the findings in which at least one of its own rows is flagged (mine).
WITH mine AS (
    SELECT DISTINCT x.fixmedins_code, x.rule, x.code_key, x.drug_trac_codg
    FROM export_evidence x WHERE x.flagged AND ($scope = 'all' OR x.month = $scope)
)
SELECT p.pidx,
       excel_safe(x.rule) AS rule,
       excel_safe(x.drug_trac_codg) AS drug_trac_codg,
       CAST(x.flagged AS INTEGER) AS flagged,
       excel_safe(x.fixmedins_code) AS fixmedins_code,
       excel_safe(x.fixmedins_name) AS fixmedins_name,
       excel_safe(x.rtal_docno) AS rtal_docno,
       x.sel_retn_time AS sel_retn_time,
       excel_safe(x.kind) AS kind,
       excel_safe(x.med_list_codg) AS med_list_codg,
       printf('%.10g', x.sel_retn_cnt) AS sel_retn_cnt,
       printf('%.10g', x.qty) AS qty,
       x.trdn_flag AS trdn_flag,
       CAST(x.insured AS INTEGER) AS insured,
       excel_safe(x.setl_id) AS setl_id,
       excel_safe_led(CASE WHEN $mask THEN masked_id(x.psn_no, $mask_key) ELSE x.psn_no END, x.psn_no) AS psn_no,
       excel_safe(fl.name) AS source_file,
       x.src_line AS src_line,
       excel_safe(x.code_raw) AS code_raw,
       excel_safe(x.fixmedins_hilist_name) AS fixmedins_hilist_name,
       CAST(x.event_id IN (SELECT w.event_id FROM withdrawn_events w) AS INTEGER) AS withdrawn
FROM export_evidence x JOIN files fl ON fl.file_id = x.file_id
JOIN mine m ON m.fixmedins_code = x.fixmedins_code AND m.rule = x.rule AND m.code_key = x.code_key
            AND m.drug_trac_codg = x.drug_trac_codg
JOIN export_pharmacies p ON p.fixmedins_code = x.fixmedins_code
ORDER BY p.pidx, list_position($rules, x.rule), x.rule, x.drug_trac_codg, x.code_key, x.sel_retn_time, x.event_id
