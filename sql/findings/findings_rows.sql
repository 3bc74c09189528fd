-- relation: finding_rows
-- needs: flagged, rule_meta, code_events, history_rows, rule_dict, rule_events, events, withdrawn
-- meaning: the evidence of every finding of the checked months, with the few event columns
--   the findings need: all flagged rows of a (rule, code) that has at least one flagged row in
--   $month_lo .. $month_hi, plus — for rules whose evidence is the whole code — every other
--   valid row of the code up to the cut-off (sales, returns, re-uploaded copies),
--   flagged = FALSE. Flagged rows take their columns from code_events when they are there
--   and otherwise from the checked months' rule_events or history_rows (invalid codes, lone
--   rows): no pass over the history, no strings but the dictionary's. The rows of the code that
--   a 3507 delete withdrew (the rules did not read them) are evidence too, flagged = FALSE, for
--   rules whose evidence is the whole code.
WITH from_codes AS (
    SELECT f.rule, f.code_key, f.drug_trac_codg, f.event_id, c.month, c.fixmedins_code, c.sel_retn_time
    FROM flagged f
    JOIN code_events c ON c.event_id = f.event_id
), others AS (
    SELECT f.rule, f.code_key, f.drug_trac_codg, f.event_id
    FROM flagged f
    WHERE NOT EXISTS (SELECT 1 FROM code_events c WHERE c.event_id = f.event_id)
), from_events AS (
    -- every other flagged row lies in the checked months or in history_rows
    SELECT o.rule, o.code_key, o.drug_trac_codg, o.event_id, r.month, p.value AS fixmedins_code, r.sel_retn_time
    FROM others o
    JOIN rule_events r ON r.event_id = o.event_id
    JOIN rule_dict p
      ON p.field = 'pharmacy'
     AND p.id = r.ph_id
    WHERE r.month >= $month_lo
      AND r.month <= $month_hi
    UNION ALL
    SELECT o.rule, o.code_key, o.drug_trac_codg, o.event_id, h.month, p.value AS fixmedins_code, h.sel_retn_time
    FROM others o
    JOIN history_rows h ON h.event_id = o.event_id
    JOIN rule_dict p
      ON p.field = 'pharmacy'
     AND p.id = h.ph_id
), flagged_rows AS (
    SELECT * FROM from_codes
    UNION ALL
    SELECT * FROM from_events
), keys AS (
    SELECT rule, code_key, drug_trac_codg
    FROM flagged_rows
    GROUP BY rule, code_key, drug_trac_codg
    HAVING MAX(CASE WHEN month >= $month_lo AND month <= $month_hi THEN 1 ELSE 0 END) = 1
)
SELECT
    k.rule, k.code_key, k.drug_trac_codg, f.event_id, TRUE AS flagged,
    f.month, f.fixmedins_code, f.sel_retn_time
FROM keys k
JOIN flagged_rows f
  ON f.rule = k.rule
 AND f.code_key = k.code_key
 AND f.drug_trac_codg = k.drug_trac_codg
UNION ALL
SELECT
    k.rule, k.code_key, k.drug_trac_codg, c.event_id, FALSE AS flagged,
    c.month, c.fixmedins_code, c.sel_retn_time
FROM keys k
JOIN rule_meta m
  ON m.rule = k.rule
 AND m.evidence = 'code'
JOIN code_events c
  ON c.code_key = k.code_key
 AND c.drug_trac_codg = k.drug_trac_codg
WHERE NOT EXISTS (
    SELECT 1 FROM flagged f2
    WHERE f2.rule = k.rule
      AND f2.event_id = c.event_id
)
UNION ALL
SELECT
    k.rule, k.code_key, k.drug_trac_codg, e.event_id, FALSE AS flagged,
    e.month, e.fixmedins_code, e.sel_retn_time
FROM keys k
JOIN rule_meta m
  ON m.rule = k.rule
 AND m.evidence = 'code'
JOIN events e
  ON e.code_key = k.code_key
 AND e.drug_trac_codg = k.drug_trac_codg
WHERE e.month <= $month_hi
  AND e.event_id IN (SELECT w.event_id FROM withdrawn w)
