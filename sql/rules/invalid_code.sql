-- rule: invalid_code
-- severity: low
-- label_zh: 追溯码无效
-- needs: rule_events, history_rows, withdrawn
-- evidence: flagged
-- meaning: a code that is neither a valid 20-digit NHSA code nor a valid GS1 element string
--   (GTIN check digit, serial present), a placeholder (one digit repeated, 无), or a number
--   mangled by Excel (8.12345678901235E+19: the digits are lost). Reported by the raw value
--   as uploaded; every row with that raw value is flagged. Not used by the other rules.
WITH in_scope AS (
    SELECT r.code_key, r.invalid_raw AS code_raw, r.event_id, r.invalid_reason
    FROM rule_events r
    WHERE r.valid = 0
      AND r.month >= $month_lo
      AND r.month <= $month_hi
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = r.event_id)
), scope_raw AS (
    SELECT DISTINCT i.code_key, i.code_raw FROM in_scope i
), rows_ AS (
    SELECT i.code_key, i.code_raw, i.event_id, i.invalid_reason FROM in_scope i
    UNION ALL
    -- earlier rows of the same raw values
    SELECT h.code_key, h.invalid_raw AS code_raw, h.event_id, h.invalid_reason
    FROM history_rows h
    JOIN scope_raw s
      ON s.code_key = h.code_key
     AND s.code_raw = h.invalid_raw
    WHERE h.valid = 0
      AND NOT EXISTS (SELECT 1 FROM withdrawn w WHERE w.event_id = h.event_id)
), per_code AS (
    SELECT
        r.code_raw,
        MIN(r.code_key) AS code_key,
        MIN(r.invalid_reason) AS reason,
        COUNT(*) AS n_rows
    FROM rows_ r
    GROUP BY r.code_raw
)
SELECT
    p.code_key,
    r.code_raw AS drug_trac_codg,
    r.event_id,
    CASE WHEN p.reason LIKE 'gs1_ambiguous%'
             THEN 'GS1 code whose separators (GS) were dropped: it reads as more than one pack (gs1_ambiguous): '
                  || coalesce(nullif(substr(p.reason, 15), ''), 'see trace')
        ELSE CASE p.reason
        WHEN 'empty' THEN 'empty code'
        WHEN 'excel_scientific' THEN 'went through Excel as a number: the digits are lost'
        WHEN 'placeholder' THEN 'placeholder, not a real code'
        WHEN 'bad_length' THEN 'wrong length: not a 20-digit code'
        WHEN 'bad_prefix' THEN '20 digits but not starting with 8'
        WHEN 'bad_characters' THEN 'letters or symbols: neither a 20-digit code nor a GS1 string'
        WHEN 'gs1_check_digit' THEN 'GS1 code with a wrong GTIN check digit'
        WHEN 'gs1_no_serial' THEN 'GS1 code without a serial number (AI 21)'
        ELSE 'not a valid traceability code'
    END END
        || ' — uploaded ' || CAST(p.n_rows AS VARCHAR)
        || CASE WHEN p.n_rows = 1 THEN ' time' ELSE ' times' END AS detail
FROM rows_ r
JOIN per_code p ON p.code_raw = r.code_raw
