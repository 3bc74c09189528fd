-- relation: recycled_evidence
-- needs: finding_events, finding_evidence, events
-- meaning: every evidence row of the recycled_resale findings of the month scope $scope (all
--   valid rows of each such code up to the check's cut-off, flagged = the rule blames the row),
--   with the columns of the rules' code_events stage (dup_rank: 1 for the first copy, in
--   ingest order, of a record (pharmacy, receipt, code, kind)) plus the person, names and
--   price. An evidence row of a recycled_resale finding is a row of the finding's code (its
--   code_key and drug_trac_codg are the finding's); its other columns come from
--   finding_evidence, where check stored them. The rows it did not store (earlier months of a --month check) are
--   read from events, which is not read at all when there are none. The rules' own stages from
--   code_events to sales (duplicate copies dropped, returns matched) then run over these few
--   codes, not over the whole history. (month <= $month_hi changes nothing, the evidence stops
--   at the cut-off, but lets a scan of events skip the row groups of later months.)
WITH fe AS (
    SELECT f.flagged, f.event_id, f.code_key, f.drug_trac_codg
    FROM finding_events f
    WHERE f.month = $scope
      AND f.rule = 'recycled_resale'
), stored AS (
    SELECT
        fe.flagged,
        x.event_id,
        fe.code_key,
        fe.drug_trac_codg,
        x.kind,
        x.fixmedins_code,
        x.fixmedins_name,
        x.rtal_docno,
        x.med_list_codg,
        x.fixmedins_hilist_name,
        x.product_id,
        x.trdn_flag,
        x.qty,
        x.price,
        x.insured,
        x.psn_no,
        x.ts,
        x.sel_retn_time,
        x.event_month AS month
    FROM fe
    JOIN finding_evidence x
      ON x.month = $scope
     AND x.rule = 'recycled_resale'
     AND x.event_id = fe.event_id
), fetched AS MATERIALIZED (
    SELECT
        e.event_id,
        e.code_key,
        e.drug_trac_codg,
        e.kind,
        e.fixmedins_code,
        e.fixmedins_name,
        e.rtal_docno,
        e.med_list_codg,
        e.fixmedins_hilist_name,
        e.product_id,
        e.trdn_flag,
        e.qty,
        e.price,
        e.insured,
        e.psn_no,
        e.ts,
        e.sel_retn_time,
        e.month
    FROM events e
    WHERE e.month <= $month_hi
      AND e.event_id IN (
          SELECT m.event_id FROM fe m
          WHERE m.event_id NOT IN (
              SELECT x.event_id FROM finding_evidence x WHERE x.month = $scope AND x.rule = 'recycled_resale'
          )
      )
), rows_ AS (
    SELECT * FROM stored WHERE month <= $month_hi
    UNION ALL
    SELECT fe.flagged, f.* FROM fetched f JOIN fe ON fe.event_id = f.event_id
)
SELECT
    r.*,
    ROW_NUMBER() OVER (
        PARTITION BY r.fixmedins_code, r.rtal_docno, r.code_key, r.drug_trac_codg, r.kind
        ORDER BY r.event_id
    ) AS dup_rank
FROM rows_ r
