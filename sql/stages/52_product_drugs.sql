-- stage: product_drugs
-- needs: drug_catalog, product_counts
-- meaning: the drug(s) (med_list_codg) each product id belongs to. A product id the catalogue
--   lists (as code_prefix) belongs to the catalogue's drugs for it. Any other product id
--   belongs to the drug of the strict plurality of its valid sale rows up to the end of the
--   checked months; a tie for first place gives it no owner (no finding).
WITH listed AS (
    SELECT DISTINCT k.code_prefix AS product_id, k.med_list_codg
    FROM drug_catalog k
    WHERE k.code_prefix IS NOT NULL
), counts AS (
    SELECT p.product_id, p.med_list_codg, SUM(p.n) AS n
    FROM product_counts p
    WHERE p.month <= $month_hi
    GROUP BY p.product_id, p.med_list_codg
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
