-- rule: split_overuse
-- severity: medium
-- label_zh: 拆零超量
-- needs: sales, pack_units
-- meaning: split-pack sales (拆零, trdn_flag 1) of one code that cannot all come from one pack:
--   over the code's sales in order, the first sale at which the split quantities add up to
--   more than the pack's units (only when the catalogue gives pack_units for that row's
--   med_list_codg), or split sales are seen at two or more pharmacies, or the code has been
--   sold both split and whole. Flags that sale and every later one.
WITH eligible AS (
    SELECT code_key, drug_trac_codg
    FROM sales
    GROUP BY code_key, drug_trac_codg
    HAVING MAX(trdn_flag) = 1
), units AS (
    SELECT s.*, u.pack_units
    FROM sales s
    JOIN eligible g
      ON g.code_key = s.code_key
     AND g.drug_trac_codg = s.drug_trac_codg
    LEFT JOIN pack_units u ON u.med_list_codg = s.med_list_codg
), running AS (
    SELECT
        u.*,
        SUM(CASE WHEN u.trdn_flag = 1 THEN u.qty ELSE 0 END) OVER (
            PARTITION BY u.code_key, u.drug_trac_codg ORDER BY u.ts, u.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS split_qty,
        MIN(CASE WHEN u.trdn_flag = 1 THEN u.fixmedins_code END) OVER (
            PARTITION BY u.code_key, u.drug_trac_codg ORDER BY u.ts, u.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS split_min_pharmacy,
        MAX(CASE WHEN u.trdn_flag = 1 THEN u.fixmedins_code END) OVER (
            PARTITION BY u.code_key, u.drug_trac_codg ORDER BY u.ts, u.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS split_max_pharmacy,
        MAX(u.trdn_flag) OVER (
            PARTITION BY u.code_key, u.drug_trac_codg ORDER BY u.ts, u.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS seen_split,
        MIN(u.trdn_flag) OVER (
            PARTITION BY u.code_key, u.drug_trac_codg ORDER BY u.ts, u.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS seen_whole_if_0
    FROM units u
), judged AS (
    SELECT
        r.*,
        CASE WHEN r.pack_units IS NOT NULL AND r.split_qty > r.pack_units THEN 1 ELSE 0 END AS over_units,
        CASE WHEN r.split_min_pharmacy <> r.split_max_pharmacy THEN 1 ELSE 0 END AS many_pharmacies,
        CASE WHEN r.seen_split = 1 AND r.seen_whole_if_0 = 0 THEN 1 ELSE 0 END AS split_and_whole
    FROM running r
), marked AS (
    SELECT
        j.*,
        MAX(CASE WHEN j.over_units = 1 OR j.many_pharmacies = 1 OR j.split_and_whole = 1 THEN 1 ELSE 0 END) OVER (
            PARTITION BY j.code_key, j.drug_trac_codg ORDER BY j.ts, j.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS from_first
    FROM judged j
), per_code AS (
    SELECT
        m.code_key,
        m.drug_trac_codg,
        MAX(m.split_qty) AS split_total,
        MIN(CASE WHEN m.over_units = 1 THEN m.pack_units END) AS units_exceeded,
        COUNT(DISTINCT CASE WHEN m.trdn_flag = 1 THEN m.fixmedins_code END) AS split_pharmacies,
        MAX(m.split_and_whole) AS split_and_whole
    FROM marked m
    GROUP BY m.code_key, m.drug_trac_codg
)
SELECT
    m.code_key,
    m.drug_trac_codg,
    m.event_id,
    'split sales of one pack: '
        || CASE WHEN p.units_exceeded IS NOT NULL
                THEN 'quantities add up to '
                     || CASE WHEN p.split_total = FLOOR(p.split_total)
                             THEN CAST(CAST(p.split_total AS BIGINT) AS VARCHAR)
                             ELSE CAST(p.split_total AS VARCHAR) END
                     || ' units, more than the '
                     || CASE WHEN p.units_exceeded = FLOOR(p.units_exceeded)
                             THEN CAST(CAST(p.units_exceeded AS BIGINT) AS VARCHAR)
                             ELSE CAST(p.units_exceeded AS VARCHAR) END
                     || ' in a pack; '
                ELSE '' END
        || CASE WHEN p.split_pharmacies > 1
                THEN 'sold split at ' || CAST(p.split_pharmacies AS VARCHAR) || ' pharmacies; '
                ELSE '' END
        || CASE WHEN p.split_and_whole = 1 THEN 'sold both split and as a whole pack; ' ELSE '' END
        || 'the pack was sold more than once' AS detail
FROM marked m
JOIN per_code p
  ON p.code_key = m.code_key
 AND p.drug_trac_codg = m.drug_trac_codg
WHERE m.from_first = 1
