-- rule: product_mismatch
-- severity: high
-- label_zh: 药品与追溯码不符
-- needs: code_events, product_drugs
-- meaning: a valid sale row whose code's product id (7-digit prefix, or GS1 GTIN) belongs to
--   another drug than the row's med_list_codg — by the catalogue when it lists the product
--   id, else by the drug most of the product's sales are billed as: the scanned pack is not
--   the drug billed. Flags the row. Rows without med_list_codg are not judged.
WITH judged_rows AS (
    SELECT e.code_key, e.drug_trac_codg, e.event_id, e.product_id, e.med_list_codg
    FROM events e
    WHERE e.kind = 'sale'
      AND e.code_status = 'valid'
      AND e.month >= $month_lo
      AND e.month <= $month_hi
      AND e.med_list_codg IS NOT NULL
    UNION ALL
    SELECT c.code_key, c.drug_trac_codg, c.event_id, c.product_id, c.med_list_codg
    FROM code_events c
    WHERE c.kind = 'sale'
      AND c.month < $month_lo
      AND c.med_list_codg IS NOT NULL
), owners AS (
    SELECT
        d.product_id,
        MIN(d.basis) AS basis,
        MIN(d.med_list_codg) AS owner,
        COUNT(*) AS n_owners,
        MAX(d.n) AS n,
        MAX(d.total) AS total
    FROM product_drugs d
    GROUP BY d.product_id
)
SELECT
    r.code_key,
    r.drug_trac_codg,
    r.event_id,
    'billed as ' || r.med_list_codg || ' but the code''s product ' || r.product_id || ' is '
        || o.owner
        || CASE WHEN o.n_owners = 2 THEN ' or 1 other drug'
                WHEN o.n_owners > 2 THEN ' or ' || CAST(o.n_owners - 1 AS VARCHAR) || ' other drugs'
                ELSE '' END
        || CASE WHEN o.basis = 'catalogue' THEN ' by the catalogue'
                ELSE ' by the majority of its sales (' || CAST(o.n AS VARCHAR) || ' of '
                     || CAST(o.total AS VARCHAR) || ')' END
        || ' — the scanned pack is not the drug billed' AS detail
FROM judged_rows r
JOIN owners o ON o.product_id = r.product_id
WHERE NOT EXISTS (
    SELECT 1
    FROM product_drugs d
    WHERE d.product_id = r.product_id
      AND d.med_list_codg = r.med_list_codg
)
