-- rule: recycled_resale
-- severity: high
-- label_zh: 回流药品再销售
-- needs: sales
-- meaning: a sale of a code after an earlier whole-pack, insurance-settled sale of it
--   (setl_id present or mdtrt_setl_type 1) under another receipt: the insured pack came
--   back onto the market (回流药), or another person's insurance card was used. Flags each
--   such later sale.
WITH eligible AS (
    SELECT code_key, drug_trac_codg
    FROM sales
    GROUP BY code_key, drug_trac_codg
    HAVING COUNT(*) > 1
       AND MAX(CASE WHEN trdn_flag = 0 AND insured THEN 1 ELSE 0 END) = 1
), ordered AS (
    SELECT
        s.code_key,
        s.drug_trac_codg,
        s.event_id,
        s.fixmedins_code,
        s.sel_retn_time,
        CASE WHEN s.trdn_flag = 0 AND s.insured THEN 1 ELSE 0 END AS insured_whole,
        ROW_NUMBER() OVER (
            PARTITION BY s.code_key, s.drug_trac_codg,
                         CASE WHEN s.trdn_flag = 0 AND s.insured THEN 1 ELSE 0 END
            ORDER BY s.ts, s.event_id
        ) AS nth_of_kind,
        MAX(CASE WHEN s.trdn_flag = 0 AND s.insured THEN 1 ELSE 0 END) OVER (
            PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS after_insured
    FROM sales s
    JOIN eligible g
      ON g.code_key = s.code_key
     AND g.drug_trac_codg = s.drug_trac_codg
), resales AS (
    SELECT
        o.code_key,
        o.drug_trac_codg,
        o.event_id,
        COUNT(*) OVER (PARTITION BY o.code_key, o.drug_trac_codg) AS n_resales
    FROM ordered o
    WHERE o.after_insured = 1
)
SELECT
    r.code_key,
    r.drug_trac_codg,
    r.event_id,
    'sold again ' || CAST(r.n_resales AS VARCHAR)
        || CASE WHEN r.n_resales = 1 THEN ' time' ELSE ' times' END
        || ' after an insured whole-pack sale at ' || i.fixmedins_code
        || ' on ' || CAST(i.sel_retn_time AS VARCHAR)
        || ' — suspected recycled drug (回流药) or use of another person''s insurance card' AS detail
FROM resales r
JOIN ordered i
  ON i.code_key = r.code_key
 AND i.drug_trac_codg = r.drug_trac_codg
 AND i.insured_whole = 1
 AND i.nth_of_kind = 1
