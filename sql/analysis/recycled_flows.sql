-- relation: recycled_flows (one row per recycled_resale flagged sale inside the checked months)
-- needs: sales (the rules' stages, run with recycled_evidence as their code_events), recycled_evidence
-- meaning: where each recycled pack came from. For every sale S that recycled_resale flags in
--   $month_lo .. $month_hi (pharmacy B), its source is the LATEST earlier whole-pack
--   (trdn_flag 0), insured sale A of the same code among the code's sales that count (unique,
--   not cancelled by a return), in the order (ts, event_id) the rule uses. The latest one, not
--   the first: a pack bought on insurance, resold, bought on insurance again and resold again
--   moved A -> B -> C, and the person who sold it back the second time is the buyer at B.
--   src_* are the source sale (pharmacy A, the insured buyer psn_no, the drug, its price);
--   dst_* the flagged resale. days = time from the insured purchase to the resale.
WITH sales_ AS (
    SELECT
        r.event_id,
        r.code_key,
        r.drug_trac_codg,
        r.trdn_flag,
        r.insured,
        r.ts,
        ROW_NUMBER() OVER (PARTITION BY r.code_key, r.drug_trac_codg ORDER BY r.ts, r.event_id) AS rn
    FROM sales r
), linked AS (
    SELECT
        s.*,
        MAX(CASE WHEN s.trdn_flag = 0 AND s.insured THEN s.rn END) OVER (
            PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS src_rn
    FROM sales_ s
)
SELECT
    t.code_key,
    t.drug_trac_codg,
    a.event_id AS src_event_id,
    a.fixmedins_code AS src_pharmacy,
    a.fixmedins_name AS src_name,
    a.psn_no AS psn_no,
    a.med_list_codg AS med_list_codg,
    a.fixmedins_hilist_name AS drug_name,
    a.price * COALESCE(a.qty, 1) AS value,
    a.sel_retn_time AS src_time,
    a.month AS src_month,
    b.event_id AS dst_event_id,
    b.fixmedins_code AS dst_pharmacy,
    b.fixmedins_name AS dst_name,
    b.psn_no AS dst_psn_no,
    b.insured AS dst_insured,
    b.sel_retn_time AS dst_time,
    b.month AS dst_month,
    (b.ts - a.ts) / 86400.0 AS days
FROM linked t
JOIN linked s
  ON s.code_key = t.code_key
 AND s.drug_trac_codg = t.drug_trac_codg
 AND s.rn = t.src_rn
JOIN recycled_evidence b ON b.event_id = t.event_id
JOIN recycled_evidence a ON a.event_id = s.event_id
WHERE b.flagged
  AND b.month >= $month_lo
  AND b.month <= $month_hi
