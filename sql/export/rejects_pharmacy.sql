-- relation: rejects_per_pharmacy
-- needs: export_scoped_rejects, files, export_pharmacies
-- meaning: rejects.csv of each pharmacy (pidx first, sorted by it): the rejects it belongs to.
--   Masked when $mask: a raw value is shown only for the upload fields that never hold personal
--   data (else $withheld), the raw record's psn_no is masked ($mask_key).
SELECT p.pidx,
       excel_safe(fl.name) AS source_file,
       r.src_line AS src_line,
       excel_safe(r.field) AS field,
       excel_safe(shown_text(r.reason, $lang)) AS reason,
       excel_safe(CASE WHEN NOT $mask THEN r.raw_value
                       WHEN r.field IN ('fixmedins_code', 'rtal_docno', 'drug_trac_codg', 'sel_retn_time',
                                        'sel_retn_cnt', 'trdn_flag', 'price', 'med_list_codg') THEN r.raw_value
                       ELSE $withheld END) AS raw_value,
       excel_safe(CASE WHEN NOT $mask OR coalesce((r.raw_record ->> 'psn_no'), '') = '' THEN r.raw_record
                       ELSE CAST(json_merge_patch(r.raw_record,
                                                  json_object('psn_no', masked_id((r.raw_record ->> 'psn_no'), $mask_key)))
                                 AS VARCHAR) END) AS raw_record,
       excel_safe(r.fixmedins_code) AS fixmedins_code
FROM export_scoped_rejects r JOIN files fl ON fl.file_id = r.file_id
JOIN export_pharmacies p ON p.fixmedins_code = r.fixmedins_code
ORDER BY p.pidx, r.file_id, r.src_line, r.field
