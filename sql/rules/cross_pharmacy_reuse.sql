-- rule: cross_pharmacy_reuse
-- severity: high
-- label_zh: 跨店重复销售
-- needs: sales
-- meaning: one code sold at two or more pharmacies. Flags each sale that has an earlier sale
--   of the code at another pharmacy. The detail gives the number of pharmacies and the
--   smallest gap between consecutive sales at different pharmacies: within $close_days days
--   → suspected counterfeit (copied code), else suspected recycled drug (回流药).
WITH ordered AS (
    SELECT
        s.code_key,
        s.drug_trac_codg,
        s.event_id,
        s.fixmedins_code,
        s.ts,
        MIN(s.fixmedins_code) OVER (
            PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS prev_min_pharmacy,
        MAX(s.fixmedins_code) OVER (
            PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS prev_max_pharmacy,
        LAG(s.fixmedins_code) OVER (
            PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id
        ) AS lag_pharmacy,
        LAG(s.ts) OVER (
            PARTITION BY s.code_key, s.drug_trac_codg ORDER BY s.ts, s.event_id
        ) AS lag_ts
    FROM sales s
), flagged AS (
    SELECT *
    FROM ordered
    WHERE prev_min_pharmacy <> fixmedins_code
       OR prev_max_pharmacy <> fixmedins_code
), per_code AS (
    SELECT
        o.code_key,
        o.drug_trac_codg,
        COUNT(DISTINCT o.fixmedins_code) AS n_pharmacies,
        MIN(CASE WHEN o.lag_pharmacy <> o.fixmedins_code THEN o.ts - o.lag_ts END) AS min_gap
    FROM ordered o
    WHERE o.code_key IN (SELECT f.code_key FROM flagged f)
    GROUP BY o.code_key, o.drug_trac_codg
)
SELECT
    f.code_key,
    f.drug_trac_codg,
    f.event_id,
    'sold at ' || CAST(p.n_pharmacies AS VARCHAR) || ' pharmacies, '
        || CASE
               WHEN p.min_gap < 3600 THEN CAST(CAST(FLOOR(p.min_gap / 60.0) AS BIGINT) AS VARCHAR) || ' min'
               WHEN p.min_gap < 86400 THEN CAST(ROUND(p.min_gap / 3600.0, 1) AS VARCHAR) || ' hours'
               ELSE CAST(ROUND(p.min_gap / 86400.0, 1) AS VARCHAR) || ' days'
           END
        || ' apart at the closest'
        || CASE WHEN p.min_gap <= $close_days * 86400
                THEN ' — suspected counterfeit (copied code)'
                ELSE ' — suspected recycled drug (回流药) or use of another person''s insurance card'
           END AS detail
FROM flagged f
JOIN per_code p
  ON p.code_key = f.code_key
 AND p.drug_trac_codg = f.drug_trac_codg
