-- relation: rejects
-- needs: export_scoped_rejects, files
-- meaning: rejects.csv: the input records of the scope that could not be read (file, line,
--   field, reason, raw value and record, the pharmacy they belong to), in file and line order.
--   Masked when $mask: a raw value is shown only for the upload fields that never hold personal
--   data (else $withheld), the raw record's psn_no is masked ($mask_key).
SELECT excel_safe(fl.name) AS source_file,
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
ORDER BY r.file_id, r.src_line, r.field
