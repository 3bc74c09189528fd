-- rule: cross_pharmacy_reuse
-- severity: high
-- label_zh: 跨店重复销售
-- needs: sales
-- meaning: one code sold at two or more pharmacies. Flags each sale that has an earlier sale
--   of the code at another pharmacy. The detail gives the number of pharmacies and the
--   smallest gap between consecutive sales at different pharmacies: within $close_days days
--   → suspected counterfeit (copied code), else suspected recycled drug (回流药).
WITH multi AS (
    SELECT code_key, drug_trac_codg
    FROM sales
    GROUP BY code_key, drug_trac_codg
    HAVING MIN(fixmedins_code) <> MAX(fixmedins_code)
), ordered AS (
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
    JOIN multi m
      ON m.code_key = s.code_key
     AND m.drug_trac_codg = s.drug_trac_codg
), gaps AS (
    SELECT
        o.code_key,
        o.drug_trac_codg,
        COUNT(DISTINCT o.fixmedins_code) AS n_pharmacies,
        MIN(CASE WHEN o.lag_pharmacy <> o.fixmedins_code THEN o.ts - o.lag_ts END) AS min_gap
    FROM ordered o
    GROUP BY o.code_key, o.drug_trac_codg
), per_code AS (
    -- The gap in whole minutes, and in tenths of hours / days rounded half up. Integer-exact on
    -- every engine: a SQL ROUND of a DOUBLE (DuckDB rounds the binary value: 1.15 -> 1.1) and of
    -- a DECIMAL literal quotient (Spark: 1.15 -> 1.2) differ at the halves.
    SELECT
        g.*,
        CAST(FLOOR(CAST(g.min_gap AS DOUBLE) / 60) AS BIGINT) AS gap_min,
        CAST(FLOOR(CAST(g.min_gap + 180 AS DOUBLE) / 360) AS BIGINT) AS gap_h10,
        CAST(FLOOR(CAST(g.min_gap + 4320 AS DOUBLE) / 8640) AS BIGINT) AS gap_d10
    FROM gaps g
)
SELECT
    o.code_key,
    o.drug_trac_codg,
    o.event_id,
    'sold at ' || CAST(p.n_pharmacies AS VARCHAR) || ' pharmacies, '
        || CASE
               WHEN p.min_gap < 3600 THEN CAST(p.gap_min AS VARCHAR) || ' min'
               WHEN p.min_gap < 86400
                   THEN CAST(CAST(FLOOR(CAST(p.gap_h10 AS DOUBLE) / 10) AS BIGINT) AS VARCHAR) || '.'
                        || CAST(p.gap_h10 % 10 AS VARCHAR) || ' hours'
               ELSE CAST(CAST(FLOOR(CAST(p.gap_d10 AS DOUBLE) / 10) AS BIGINT) AS VARCHAR) || '.'
                    || CAST(p.gap_d10 % 10 AS VARCHAR) || ' days'
           END
        || ' apart at the closest'
        || CASE WHEN p.min_gap <= $close_days * 86400
                THEN ' — suspected counterfeit (copied code)'
                ELSE ' — suspected recycled drug (回流药) or use of another person''s insurance card'
           END AS detail
FROM ordered o
JOIN per_code p
  ON p.code_key = o.code_key
 AND p.drug_trac_codg = o.drug_trac_codg
WHERE o.prev_min_pharmacy <> o.fixmedins_code
   OR o.prev_max_pharmacy <> o.fixmedins_code
