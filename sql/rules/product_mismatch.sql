-- rule: product_mismatch
-- severity: high
-- label_zh: 药品与追溯码不符
-- needs: code_events, product_drugs, product_counts, rule_events, rule_dict, withdrawn
-- meaning: a valid sale row whose code's product id (7-digit prefix, or GS1 GTIN) belongs to
--   another drug than the row's med_list_codg — by the catalogue when it lists the product
--   id, else by the drug most of the product's sales are billed as: the scanned pack is not
--   the drug billed. Flags the row. Rows without med_list_codg are not judged.
WITH owners AS (
    SELECT
        d.product_id,
        MIN(d.basis) AS basis,
        MIN(d.med_list_codg) AS owner,
        COUNT(*) AS n_owners,
        MAX(d.n) AS n,
        MAX(d.total) AS total
    FROM product_drugs d
    GROUP BY d.product_id
), bad_pairs AS (
    -- (product, drug) pairs billed in the checked months that the product does not belong
    -- to, from the per-file counts: the month's rows are then read for these pairs only
    SELECT p.product_id, p.med_list_codg
    FROM product_counts p
    WHERE p.month >= $month_lo
      AND p.month <= $month_hi
      AND p.product_id IN (SELECT o.product_id FROM owners o)
      AND NOT EXISTS (
          SELECT 1 FROM product_drugs d
          WHERE d.product_id = p.product_id
            AND d.med_list_codg = p.med_list_codg
      )
    GROUP BY p.product_id, p.med_list_codg
), bad_ids AS (
    SELECT q.id AS product_no, d.id AS med_id, b.product_id, b.med_list_codg
    FROM bad_pairs b
    JOIN rule_dict q
      ON q.field = 'product'
     AND q.value = b.product_id
    JOIN rule_dict d
      ON d.field = 'drug'
     AND d.value = b.med_list_codg
), month_hits AS (
    -- the checked months' sale rows of those pairs, found on the narrow rows
    SELECT r.event_id, b.product_id, b.med_list_codg
    FROM rule_events r
    JOIN bad_ids b
      ON b.product_no = r.product_no
     AND b.med_id = r.med_id
    WHERE r.valid = 1
      AND r.is_return = 0
      AND r.month >= $month_lo
      AND r.month <= $month_hi
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = r.event_id)
), hits AS (
    SELECT e.code_key, e.drug_trac_codg, e.event_id, m.product_id, m.med_list_codg
    FROM month_hits m
    JOIN events e ON e.event_id = m.event_id
    WHERE e.month >= $month_lo
      AND e.month <= $month_hi
    UNION ALL
    -- earlier rows of the codes seen again in the checked months
    SELECT c.code_key, c.drug_trac_codg, c.event_id, c.product_id, c.med_list_codg
    FROM code_events c
    WHERE c.kind = 'sale'
      AND c.month < $month_lo
      AND c.med_list_codg IS NOT NULL
      AND c.product_id IN (SELECT o.product_id FROM owners o)
      AND NOT EXISTS (
          SELECT 1 FROM product_drugs d
          WHERE d.product_id = c.product_id
            AND d.med_list_codg = c.med_list_codg
      )
)
SELECT
    h.code_key,
    h.drug_trac_codg,
    h.event_id,
    'billed as ' || h.med_list_codg || ' but the code''s product ' || h.product_id || ' is '
        || o.owner
        || CASE WHEN o.n_owners = 2 THEN ' or 1 other drug'
                WHEN o.n_owners > 2 THEN ' or ' || CAST(o.n_owners - 1 AS VARCHAR) || ' other drugs'
                ELSE '' END
        || CASE WHEN o.basis = 'catalogue' THEN ' by the catalogue'
                ELSE ' by the majority of its sales (' || CAST(o.n AS VARCHAR) || ' of '
                     || CAST(o.total AS VARCHAR) || ')' END
        || ' — the scanned pack is not the drug billed' AS detail
FROM hits h
JOIN owners o ON o.product_id = h.product_id
