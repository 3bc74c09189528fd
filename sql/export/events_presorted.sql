-- relation: suspicious_events_presorted
-- needs: withdrawn_events, export_evidence
-- meaning: suspicious_events.csv when export_evidence is the view of finding_evidence in file
--   order (read with preserve_insertion_order on), whose rows carry source_file: no join, no
--   sort. Person ids masked when $mask ($mask_key); text cells through the formula guard.
SELECT excel_safe(x.rule) AS rule,
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
       excel_safe(x.source_file) AS source_file,
       x.src_line AS src_line,
       excel_safe(x.code_raw) AS code_raw,
       excel_safe(x.fixmedins_hilist_name) AS fixmedins_hilist_name,
       CAST(x.event_id IN (SELECT w.event_id FROM withdrawn_events w) AS INTEGER) AS withdrawn
FROM export_evidence x
