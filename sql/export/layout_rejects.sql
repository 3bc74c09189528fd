-- relation: layout_rejects
-- needs: rejects
-- meaning: the rejects of the upload files $file_lo..$file_hi as the Parquet layout holds them.
--   Masked when $mask, as rejects.csv is: a raw value is kept only for the upload fields that
--   never hold personal data (a rejected psn_no masked, any other value dropped), and the raw
--   record's psn_no is masked ($mask_key).
SELECT * REPLACE (
         CASE WHEN NOT $mask THEN raw_value
              WHEN field IN ('fixmedins_code', 'rtal_docno', 'drug_trac_codg', 'sel_retn_time', 'sel_retn_cnt',
                             'trdn_flag', 'price', 'med_list_codg') THEN raw_value
              WHEN field = 'psn_no' THEN masked_id(raw_value, $mask_key)
         END AS raw_value,
         CASE WHEN NOT $mask OR coalesce((raw_record ->> 'psn_no'), '') = '' THEN raw_record
              ELSE CAST(json_merge_patch(raw_record, json_object('psn_no', masked_id((raw_record ->> 'psn_no'), $mask_key)))
                        AS VARCHAR)
         END AS raw_record)
FROM rejects
WHERE file_id BETWEEN $file_lo AND $file_hi
ORDER BY file_id, src_line, field
