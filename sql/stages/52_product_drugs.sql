-- stage: product_drugs
-- needs: drug_catalog, product_counts, withdrawn, rule_events, rule_dict
-- meaning: the drug(s) (med_list_codg) each product id belongs to. A product id the catalogue
--   lists (as code_prefix) belongs to the catalogue's drugs for it. Any other product id
--   belongs to the drug of the strict plurality of its valid sale rows up to the end of the
--   checked months, less the rows a 3507 delete withdrew; a tie for first place gives it no
--   owner (no finding).
WITH listed AS (
    SELECT DISTINCT k.code_prefix AS product_id, k.med_list_codg
    FROM drug_catalog k
    WHERE k.code_prefix IS NOT NULL
), stored AS (
    SELECT p.product_id, p.med_list_codg, SUM(p.n) AS n
    FROM product_counts p
    WHERE p.month <= $month_hi
    GROUP BY p.product_id, p.med_list_codg
), withdrawn_counts AS (
    -- product_counts is kept per file at ingest; a delete may come later, so the withdrawn
    -- rows it counted (valid sales with a drug and a product id) are taken off here
    SELECT q.value AS product_id, d.value AS med_list_codg, COUNT(*) AS n
    FROM withdrawn w
    JOIN rule_events r
      ON r.event_id = w.event_id
    JOIN rule_dict q
      ON q.field = 'product'
     AND q.id = r.product_no
    JOIN rule_dict d
      ON d.field = 'drug'
     AND d.id = r.med_id
    WHERE r.month <= $month_hi
      AND r.valid = 1
      AND r.is_return = 0
    GROUP BY q.value, d.value
), counts AS (
    SELECT s.product_id, s.med_list_codg, s.n - COALESCE(c.n, 0) AS n
    FROM stored s
    LEFT JOIN withdrawn_counts c
      ON c.product_id = s.product_id
     AND c.med_list_codg = s.med_list_codg
    WHERE s.n - COALESCE(c.n, 0) > 0
), ranked AS (
    SELECT
        c.product_id,
        c.med_list_codg,
        c.n,
        SUM(c.n) OVER (PARTITION BY c.product_id) AS total,
        ROW_NUMBER() OVER (PARTITION BY c.product_id ORDER BY c.n DESC, c.med_list_codg) AS rk,
        LEAD(c.n) OVER (PARTITION BY c.product_id ORDER BY c.n DESC, c.med_list_codg) AS next_n
    FROM counts c
)
SELECT
    l.product_id,
    l.med_list_codg,
    'catalogue' AS basis,
    CAST(NULL AS BIGINT) AS n,
    CAST(NULL AS BIGINT) AS total
FROM listed l
UNION ALL
SELECT
    r.product_id,
    r.med_list_codg,
    'majority' AS basis,
    CAST(r.n AS BIGINT) AS n,
    CAST(r.total AS BIGINT) AS total
FROM ranked r
WHERE r.rk = 1
  AND (r.next_n IS NULL OR r.next_n < r.n)
  AND r.product_id NOT IN (SELECT l2.product_id FROM listed l2)
