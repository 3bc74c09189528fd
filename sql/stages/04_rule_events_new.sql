-- stage: rule_events_new
-- persist: rule_events
-- needs: events, files, rule_dict, rule_events_files
-- meaning: the rules' narrow copy of the events of the files not processed yet: every row with
--   only fixed-width columns (the strings replaced by dictionary ids, and receipt and code by a
--   second 63-bit hash, guard_hash(), an engine function). A monthly check reads the history
--   from here: the key, month and a few integers, never the history's strings. code_guard is
--   guard_hash of the normalised code (of the raw value for an invalid code) and, with code_key,
--   tells two codes apart whose code_key collides. invalid_raw keeps the raw value of invalid
--   codes only (NULL otherwise, so it costs nothing to read). doc_guard: guard_hash of the
--   receipt, or for a record without one of 'bchno:' fixmedins_bchno, else of 'ts:' its time.
--   Only sales and returns are copied; valid: 1 valid code, 0 invalid, 2 a sale without a code.
SELECT
    e.event_id,
    e.file_id,
    e.code_key,
    CASE WHEN e.code_status = 'valid' THEN guard_hash(e.drug_trac_codg)
         ELSE guard_hash(e.code_raw) END AS code_guard,
    -- what identifies the record besides pharmacy, code and kind (duplicate_upload): the receipt;
    -- a receipt-less record (a 3506 return has none) by its batch number, else by its time
    guard_hash(CASE WHEN e.rtal_docno <> '' THEN e.rtal_docno
                    WHEN COALESCE(e.fixmedins_bchno, '') <> '' THEN 'bchno:' || e.fixmedins_bchno
                    ELSE 'ts:' || CAST(e.ts AS VARCHAR) END) AS doc_guard,
    e.month,
    CAST(CASE WHEN e.code_status = 'valid' THEN 1
              WHEN e.code_status = 'uncoded' THEN 2 ELSE 0 END AS SMALLINT) AS valid,
    CAST(CASE WHEN e.kind = 'return' THEN 1 ELSE 0 END AS SMALLINT) AS is_return,
    e.trdn_flag,
    e.insured,
    e.qty,
    e.ts,
    e.sel_retn_time,
    p.id AS ph_id,
    d.id AS med_id,
    q.id AS product_no,
    CASE WHEN e.code_status = 'valid' THEN NULL ELSE e.code_raw END AS invalid_raw,
    -- a gs1_ambiguous code carries its candidate readings (stored as its code, joined by |)
    CASE WHEN e.invalid_reason = 'gs1_ambiguous' THEN 'gs1_ambiguous ' || e.drug_trac_codg
         ELSE e.invalid_reason END AS invalid_reason
FROM events e
JOIN rule_dict p
  ON p.field = 'pharmacy'
 AND p.value = e.fixmedins_code
LEFT JOIN rule_dict d
  ON d.field = 'drug'
 AND d.value = e.med_list_codg
LEFT JOIN rule_dict q
  ON q.field = 'product'
 AND q.value = e.product_id
WHERE e.file_id IN (
    SELECT f.file_id FROM files f
    WHERE f.file_id NOT IN (SELECT r.file_id FROM rule_events_files r)
)
  -- the rules judge sales and returns: purchases (3503/3504) would otherwise count as sales.
  -- A sale without a code (code_status 'uncoded', code_key 0) is valid = 2: for uncoded_sale
  -- only (the code rules read valid = 1, invalid_code valid = 0)
  AND e.kind IN ('sale', 'return')
  AND (e.code_status IN ('valid', 'invalid') OR (e.code_status = 'uncoded' AND e.kind = 'sale'))
