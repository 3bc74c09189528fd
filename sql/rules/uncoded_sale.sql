-- rule: uncoded_sale
-- severity: medium
-- label_zh: 未扫码销售
-- needs: rule_events, rule_dict, withdrawn, drug_catalog
-- evidence: flagged
-- meaning: per pharmacy and drug (med_list_codg), the sales uploaded without a traceability
--   code of a drug that must carry one: as the catalogue's coded column (是否赋码) says when it
--   names the drug, else by the NHSA drug code class: Western medicine (med_list_codg starting X)
--   and Chinese patent medicine (Z); decoction pieces (T, 中药饮片) and other or missing drug
--   codes are not judged. Flags every such sale of the checked months. A finding
--   has no code: it is named 'uncoded:<pharmacy>:<drug>' (drug_trac_codg) with code_key 0 (no
--   hash: guard_hash differs between the engines).
WITH rows_ AS (
    SELECT r.event_id, p.value AS fixmedins_code, d.value AS med_list_codg
    FROM rule_events r
    JOIN rule_dict p
      ON p.field = 'pharmacy'
     AND p.id = r.ph_id
    JOIN rule_dict d
      ON d.field = 'drug'
     AND d.id = r.med_id
    WHERE r.valid = 2
      AND r.is_return = 0
      AND r.month >= $month_lo
      AND r.month <= $month_hi
      AND COALESCE(
          (SELECT MAX(c.coded) FROM drug_catalog c WHERE c.med_list_codg = d.value),
          CASE WHEN UPPER(SUBSTR(d.value, 1, 1)) IN ('X', 'Z') THEN 1 ELSE 0 END) = 1
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = r.event_id)
), counted AS (
    SELECT
        w.*,
        COUNT(*) OVER (PARTITION BY w.fixmedins_code, w.med_list_codg) AS n_sales
    FROM rows_ w
)
SELECT
    CAST(0 AS BIGINT) AS code_key,
    'uncoded:' || c.fixmedins_code || ':' || c.med_list_codg AS drug_trac_codg,
    c.event_id,
    CAST(c.n_sales AS VARCHAR)
        || CASE WHEN c.n_sales = 1 THEN ' sale' ELSE ' sales' END
        || ' of drug ' || c.med_list_codg
        || ' uploaded without a traceability code, which this drug must carry'
        || ' (Western or Chinese patent medicine) — the pack was not scanned' AS detail
FROM counted c
