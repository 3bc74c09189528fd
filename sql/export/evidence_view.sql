-- relation: export_evidence
-- needs: finding_evidence
-- meaning: the rows of finding_evidence of the month scope (the session variable
--   export_scope: a view cannot take a bound parameter), in their stored order, with the
--   columns of evidence_stored.sql plus each row's source_file: the same rows when
--   finding_evidence holds the whole scope (see tracecode.outputs.export).
SELECT rule, code_key, drug_trac_codg, flagged, event_id, fixmedins_code, fixmedins_name, rtal_docno,
       sel_retn_time, kind, med_list_codg, sel_retn_cnt, qty, price, trdn_flag, insured, setl_id, psn_no, file_id,
       src_line, code_raw, fixmedins_hilist_name, event_month AS month, source_file
FROM finding_evidence WHERE month = getvariable('export_scope')
