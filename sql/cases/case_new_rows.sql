-- relation: case_new_rows
-- needs: finding_rows, case_prefix, events, case_rows
-- meaning: the flagged rows of this check's findings that their case has not taken in yet: the
--   case id ('TC-' || the rule's initials || '-' || the first 10 hex digits of md5(rule, subject),
--   the same on every machine), the row's month, pharmacy and time, and its amount (price x qty;
--   NULL without a price). When findings carry their own amount, this is the one place to change.
WITH flagged AS (
    SELECT DISTINCT rule, drug_trac_codg AS subject, drug_trac_codg, event_id, month, fixmedins_code, sel_retn_time
    FROM finding_rows
    WHERE flagged
), keyed AS (
    SELECT 'TC-' || p.prefix || '-' || left(md5(f.rule || chr(31) || f.subject), 10) AS case_id, f.*
    FROM flagged f
    JOIN case_prefix p ON p.rule = f.rule
)
SELECT k.case_id, k.rule, k.subject, k.drug_trac_codg, k.event_id, k.month, k.fixmedins_code, k.sel_retn_time,
       e.price * e.qty AS amount
FROM keyed k
LEFT JOIN events e ON e.event_id = k.event_id
WHERE NOT EXISTS (SELECT 1 FROM case_rows c WHERE c.case_id = k.case_id AND c.event_id = k.event_id)
