-- rule: same_pharmacy_repeat
-- severity: high
-- label_zh: 同店重复销售
-- needs: sales
-- meaning: one code sold as a whole pack (trdn_flag 0) two or more times, under different
--   receipts, at one pharmacy (returns and re-uploads already taken out). Flags every whole
--   sale at that pharmacy after its first one. NHSA reading: substitution (串换) or empty
--   swipes (空刷): the scanned pack was never handed over.
WITH repeated AS (
    SELECT code_key, drug_trac_codg, fixmedins_code
    FROM sales
    WHERE trdn_flag = 0
    GROUP BY code_key, drug_trac_codg, fixmedins_code
    HAVING COUNT(*) > 1
), whole AS (
    SELECT
        s.code_key,
        s.drug_trac_codg,
        s.event_id,
        s.fixmedins_code,
        ROW_NUMBER() OVER (
            PARTITION BY s.code_key, s.drug_trac_codg, s.fixmedins_code
            ORDER BY s.ts, s.event_id
        ) AS nth
    FROM sales s
    JOIN repeated r
      ON r.code_key = s.code_key
     AND r.drug_trac_codg = s.drug_trac_codg
     AND r.fixmedins_code = s.fixmedins_code
    WHERE s.trdn_flag = 0
), repeats AS (
    SELECT * FROM whole WHERE nth > 1
), per_code AS (
    SELECT
        code_key,
        drug_trac_codg,
        MAX(nth) AS most,
        MIN(fixmedins_code) AS first_pharmacy,
        MAX(fixmedins_code) AS last_pharmacy
    FROM repeats
    GROUP BY code_key, drug_trac_codg
)
SELECT
    r.code_key,
    r.drug_trac_codg,
    r.event_id,
    'sold as a whole pack ' || CAST(p.most AS VARCHAR) || ' times under different receipts at '
        || CASE WHEN p.first_pharmacy = p.last_pharmacy THEN 'one pharmacy (' || p.first_pharmacy || ')'
                ELSE 'each of several pharmacies' END
        || ' — suspected substitution (串换) or empty swipes (空刷)' AS detail
FROM repeats r
JOIN per_code p
  ON p.code_key = r.code_key
 AND p.drug_trac_codg = r.drug_trac_codg
