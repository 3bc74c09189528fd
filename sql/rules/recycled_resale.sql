-- rule: recycled_resale
-- severity: high
-- label_zh: 回流药品再销售
-- needs: sales
-- meaning: a sale of a code after an earlier whole-pack, insurance-settled sale of it
--   (setl_id present or mdtrt_setl_type 1) under another receipt: the insured pack came
--   back onto the market (回流药), or another person's insurance card was used. Flags each
--   such later sale.
WITH ordered AS (
    SELECT
        s.code_key,
        s.drug_trac_codg,
        s.event_id,
        MAX(CASE WHEN s.trdn_flag = 0 AND s.insured THEN 1 ELSE 0 END) OVER (
            PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS after_insured
    FROM sales s
), resales AS (
    SELECT
        o.code_key,
        o.drug_trac_codg,
        o.event_id,
        COUNT(*) OVER (PARTITION BY o.code_key, o.drug_trac_codg) AS n_resales
    FROM ordered o
    WHERE o.after_insured = 1
), first_insured AS (
    SELECT
        s.code_key,
        s.drug_trac_codg,
        s.fixmedins_code,
        s.sel_retn_time,
        ROW_NUMBER() OVER (PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id) AS rn
    FROM sales s
    WHERE s.trdn_flag = 0
      AND s.insured
      AND s.code_key IN (SELECT r.code_key FROM resales r)
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
JOIN first_insured i
  ON i.code_key = r.code_key
 AND i.drug_trac_codg = r.drug_trac_codg
 AND i.rn = 1
