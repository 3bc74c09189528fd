-- relation: parse_batch
-- needs: batch_rows
-- meaning: one batch of text records (registered as `batch_rows`, one row per code) parsed
--   into typed event columns, with for each record whether and why it is rejected. Bind
--   parameters: $file_id, $kind (the kind of rows that do not say their own).
WITH typed AS (
    SELECT
        *,
        trim(fixmedins_code) AS t_pharmacy,
        coalesce(nullif(trim(rtal_docno), ''), nullif(trim(medins_prod_sel_no), ''), '') AS t_receipt,
        coalesce(
            try_strptime(trim(sel_retn_time), [
                '%Y-%m-%d %H:%M:%S', '%Y-%m-%d%H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y%m%d%H%M%S', '%Y-%m-%d %H:%M',
                '%Y/%m/%d %H:%M', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S.%f',
                '%Y.%m.%d %H:%M:%S', '%Y年%m月%d日 %H:%M:%S', '%Y年%m月%d日 %H:%M', '%Y-%m-%d',
                '%Y/%m/%d', '%Y%m%d', '%Y年%m月%d日']),
            CASE WHEN regexp_full_match(trim(sel_retn_time), '[1-9][0-9]{4}(\.[0-9]+)?')
                 THEN TIMESTAMP '1899-12-30 00:00:00'
                      + to_microseconds(CAST(round(CAST(trim(sel_retn_time) AS DOUBLE) * 86400) AS BIGINT) * 1000000)
            END
        ) AS t_time,
        TRY_CAST(replace(trim(sel_retn_cnt), ',', '') AS DOUBLE) AS t_count,
        CASE upper(trim(trdn_flag))
            WHEN '' THEN 0 WHEN '0' THEN 0 WHEN '1' THEN 1
            WHEN '否' THEN 0 WHEN '是' THEN 1 WHEN 'N' THEN 0 WHEN 'Y' THEN 1
        END AS t_split,
        TRY_CAST(nullif(replace(trim(price), ',', ''), '') AS DOUBLE) AS t_price,
        -- 结算类型 as POS/HIS exports write it: 医保结算 / 医保 (1, insured), 自费结算 / 自费 (2, self-pay)
        CASE WHEN trim(mdtrt_setl_type) IN ('1', '医保结算', '医保', '医保支付', '统筹支付') THEN '1'
             WHEN trim(mdtrt_setl_type) IN ('2', '自费结算', '自费', '自费支付', '现金') THEN '2'
             ELSE nullif(trim(mdtrt_setl_type), '')
        END AS t_setl_type,
        coalesce(__kind, $kind) AS t_kind
    FROM batch_rows
-- MATERIALIZED: otherwise DuckDB pushes `WHERE reject_field IS NULL` down as the whole CASE
-- below with t_time inlined, and parses each time four times (a third of this query's CPU)
), judged AS MATERIALIZED (
    SELECT
        *,
        CASE
            WHEN t_pharmacy = '' THEN 'fixmedins_code'
            -- a sale needs its receipt; a 3506 return has none of its own (medins_prod_sel_no is optional
            -- and often empty), nor has a 3503/3504 purchase record
            WHEN t_receipt = '' AND coalesce(t_kind, 'sale') = 'sale' THEN 'rtal_docno'
            -- missing, unreadable, or not in [2000-01-01, 2100-01-01): t_time once (it is a parse)
            WHEN NOT coalesce(t_time BETWEEN TIMESTAMP '2000-01-01' AND TIMESTAMP '2099-12-31 23:59:59.999999', false)
                 THEN 'sel_retn_time'
            -- NaN, inf, 1e309 and 1e-320 parse as DOUBLE: a count is a number of packs or parts (NaN sorts
            -- above every number, so BETWEEN is false for it)
            WHEN t_count IS NULL OR NOT (t_count BETWEEN 0.0001 AND 100000) THEN 'sel_retn_cnt'
            WHEN t_split IS NULL THEN 'trdn_flag'
            WHEN t_price IS NULL AND trim(price) <> '' THEN 'price'
            WHEN NOT (t_price BETWEEN 0 AND 10000000) THEN 'price'
            WHEN t_kind IS NULL OR t_kind NOT IN ('sale', 'return', 'purchase', 'purchase_return') THEN 'kind'
        END AS reject_field
    FROM typed
)
SELECT
    CAST($file_id AS BIGINT) * 4294967296 + __seq AS event_id,
    -- a record without a code (drugtracinfo empty or absent, an empty code cell) is stored as one
    -- 'uncoded' row: a sale of a drug that must carry a code is counted by uncoded_sale (未扫码)
    CASE WHEN __code_piece = '' THEN CAST(0 AS BIGINT) ELSE __code_key END AS code_key,
    CASE WHEN __code_piece = '' THEN '' ELSE __code END AS drug_trac_codg,
    __code_piece AS code_raw,
    CASE WHEN __code_piece = '' THEN 'uncoded' ELSE __code_status END AS code_status,
    __code_scheme AS code_scheme,
    CASE WHEN __code_piece = '' THEN NULL ELSE __code_reason END AS invalid_reason,
    __product_id AS product_id,
    t_kind AS kind,
    t_pharmacy AS fixmedins_code,
    nullif(trim(fixmedins_name), '') AS fixmedins_name,
    nullif(trim(med_list_codg), '') AS med_list_codg,
    nullif(trim(fixmedins_hilist_id), '') AS fixmedins_hilist_id,
    nullif(trim(fixmedins_hilist_name), '') AS fixmedins_hilist_name,
    nullif(trim(fixmedins_bchno), '') AS fixmedins_bchno,
    t_receipt AS rtal_docno,
    nullif(trim(medins_prod_sel_no), '') AS medins_prod_sel_no,
    nullif(trim(setl_id), '') AS setl_id,
    nullif(trim(mdtrt_sn), '') AS mdtrt_sn,
    nullif(trim(psn_no), '') AS psn_no,
    t_setl_type AS mdtrt_setl_type,
    nullif(trim(manu_lotnum), '') AS manu_lotnum,
    nullif(trim(manu_date), '') AS manu_date,
    nullif(trim(expy_end), '') AS expy_end,
    coalesce(t_split, 0) AS trdn_flag,
    t_count AS sel_retn_cnt,
    t_count / __codes_in_line AS qty,
    __codes_in_line AS codes_in_line,
    t_price AS price,
    coalesce(t_time, TIMESTAMP '1970-01-01 00:00:00') AS sel_retn_time,
    coalesce(epoch(t_time), 0) AS ts,
    coalesce(strftime(t_time, '%Y-%m'), '') AS month,
    (trim(setl_id) <> '' OR coalesce(t_setl_type = '1', false)) AS insured,
    CAST($file_id AS INTEGER) AS file_id,
    __line AS src_line,
    __rec AS rec,
    __piece AS piece,
    reject_field,
    CASE reject_field
        WHEN 'fixmedins_code' THEN 'missing pharmacy code (定点医药机构编号)'
        WHEN 'rtal_docno' THEN 'missing receipt number (零售单据号)'
        WHEN 'sel_retn_time' THEN CASE WHEN trim(sel_retn_time) = '' THEN 'missing sale/return time (销售/退货时间)'
                                       ELSE 'unreadable sale/return time (销售/退货时间)' END
        WHEN 'sel_retn_cnt' THEN CASE WHEN trim(sel_retn_cnt) = '' THEN 'missing quantity (销售/退货数量)'
                                      WHEN t_count IS NULL OR isnan(t_count) THEN 'quantity is not a number (销售/退货数量)'
                                      WHEN t_count <= 0 THEN 'quantity must be positive (销售/退货数量)'
                                      ELSE 'quantity out of range: 0.0001 to 100000 (销售/退货数量)' END
        WHEN 'trdn_flag' THEN 'split flag must be 0 or 1 (拆零标志)'
        WHEN 'price' THEN CASE WHEN t_price IS NULL OR isnan(t_price) THEN 'price is not a number (单价)'
                               WHEN t_price < 0 THEN 'price must not be negative (单价)'
                               ELSE 'price out of range: 0 to 10000000 (单价)' END
        WHEN 'kind' THEN 'kind must be sale, return, purchase or purchase_return (类型)'
    END AS reject_reason,
    CASE reject_field
        WHEN 'fixmedins_code' THEN fixmedins_code
        WHEN 'rtal_docno' THEN rtal_docno
        WHEN 'sel_retn_time' THEN sel_retn_time
        WHEN 'sel_retn_cnt' THEN sel_retn_cnt
        WHEN 'trdn_flag' THEN trdn_flag
        WHEN 'price' THEN price
        WHEN 'kind' THEN t_kind
    END AS reject_value,
    CASE WHEN reject_field IS NOT NULL THEN CAST(to_json({
        'fixmedins_code': fixmedins_code, 'rtal_docno': rtal_docno, 'med_list_codg': med_list_codg,
        'drug_trac_codg': drug_trac_codg, 'trdn_flag': trdn_flag, 'sel_retn_cnt': sel_retn_cnt,
        'sel_retn_time': sel_retn_time, 'setl_id': setl_id, 'psn_no': psn_no}) AS VARCHAR)
    END AS raw_record
FROM judged
