-- relation: parse_deletes
-- needs: delete_rows
-- meaning: one batch of 3507 delete records (registered as `delete_rows`: text columns, __line)
--   typed into the columns of the deletes table, with for each record whether and why it is
--   rejected. A delete names the record it withdraws by pharmacy and fixmedins_bchno (定点医药
--   机构批次流水号); inv_data_type (进销存数据类型) says which kind of record: 1 inventory,
--   2 stock change, 3 purchase, 4 sale (also written 采购 / 销售). Bind parameter: $file_id.
WITH typed AS (
    SELECT
        *,
        trim(fixmedins_code) AS t_pharmacy,
        trim(fixmedins_bchno) AS t_bchno,
        CASE trim(inv_data_type)
            WHEN '' THEN NULL
            WHEN '1' THEN '1' WHEN '盘存' THEN '1' WHEN '盘存信息' THEN '1'
            WHEN '2' THEN '2' WHEN '库存变更' THEN '2' WHEN '库存变更信息' THEN '2'
            WHEN '3' THEN '3' WHEN '采购' THEN '3' WHEN '采购信息' THEN '3'
            WHEN '4' THEN '4' WHEN '销售' THEN '4' WHEN '销售信息' THEN '4'
            ELSE 'bad'
        END AS t_type,
        try_strptime(trim(sel_retn_time), [
            '%Y-%m-%d %H:%M:%S', '%Y-%m-%d%H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y%m%d%H%M%S',
            '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M', '%Y-%m-%d', '%Y/%m/%d']) AS t_time
    FROM delete_rows
)
SELECT
    CAST($file_id AS INTEGER) AS file_id,
    __line AS src_line,
    t_pharmacy AS fixmedins_code,
    t_bchno AS fixmedins_bchno,
    t_type AS inv_data_type,
    t_time AS deleted_at,
    CASE
        WHEN coalesce(t_pharmacy, '') = '' THEN 'fixmedins_code'
        WHEN coalesce(t_bchno, '') = '' THEN 'fixmedins_bchno'
        WHEN t_type = 'bad' THEN 'inv_data_type'
    END AS reject_field,
    CASE
        WHEN coalesce(t_pharmacy, '') = '' THEN 'missing pharmacy code (定点医药机构编号)'
        WHEN coalesce(t_bchno, '') = '' THEN 'a delete must name the record it withdraws (定点医药机构批次流水号)'
        WHEN t_type = 'bad' THEN 'inv_data_type must be 1, 2, 3 or 4 (进销存数据类型)'
    END AS reject_reason,
    CASE
        WHEN coalesce(t_pharmacy, '') = '' THEN fixmedins_code
        WHEN coalesce(t_bchno, '') = '' THEN fixmedins_bchno
        WHEN t_type = 'bad' THEN inv_data_type
    END AS reject_value,
    CAST(to_json({'fixmedins_code': fixmedins_code, 'fixmedins_bchno': fixmedins_bchno,
                  'inv_data_type': inv_data_type, 'inf_time': sel_retn_time}) AS VARCHAR) AS raw_record
FROM typed
