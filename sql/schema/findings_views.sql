-- relation: findings_views (the view evidence)
-- needs: finding_events, events, files
-- meaning: views over the check results (sql/schema/findings.sql) and events, for analysts.
CREATE OR REPLACE VIEW evidence AS
SELECT
    fe.month,
    fe.rule,
    fe.drug_trac_codg,
    fe.flagged,
    e.event_id,
    e.kind,
    e.fixmedins_code,
    e.fixmedins_name,
    e.rtal_docno,
    e.medins_prod_sel_no,
    e.sel_retn_time,
    e.sel_retn_cnt,
    e.qty,
    e.trdn_flag,
    e.insured,
    e.setl_id,
    e.mdtrt_setl_type,
    e.med_list_codg,
    e.fixmedins_hilist_name,
    e.product_id,
    e.code_raw,
    e.code_status,
    e.invalid_reason,
    e.month AS event_month,
    f.name AS source_file,
    e.src_line,
    e.file_id,
    fe.code_key
FROM finding_events fe
JOIN events e ON e.event_id = fe.event_id
LEFT JOIN files f ON f.file_id = e.file_id;
