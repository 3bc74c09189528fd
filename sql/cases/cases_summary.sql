-- relation: cases_summary
-- needs: cases, case_rows, case_events
-- meaning: the figures of cases_summary.csv, per month (a month with a flagged row of the case)
--   and rule, for all pharmacies (fixmedins_code '*') and per pharmacy: cases opened that month
--   (new_cases), reopened by that month's check, open and closed now, the amount at stake (the
--   flagged rows of the month), recovered (confirmed cases, counted in their opened month), the
--   age of the open ones in days (from first flagged row to $today), and the rule's measured
--   precision = confirmed / (confirmed + dismissed) over all its decided cases (NULL: none decided).
WITH per_row AS (
    SELECT DISTINCT r.month, c.rule, r.fixmedins_code, c.case_id, c.status, c.opened_month, c.recovered,
           c.first_seen
    FROM case_rows r
    JOIN cases c ON c.case_id = r.case_id
), amounts AS (
    SELECT r.month, c.rule, r.fixmedins_code, sum(r.amount) AS amount
    FROM case_rows r
    JOIN cases c ON c.case_id = r.case_id
    GROUP BY ALL
), reopened AS (
    SELECT DISTINCT e.month, e.case_id
    FROM case_events e
    WHERE e."by" = 'check' AND e.from_status IN ('confirmed', 'dismissed') AND e.to_status = 'reviewing'
), precision AS (
    SELECT rule,
           count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
           count(*) FILTER (WHERE status IN ('confirmed', 'dismissed')) AS decided
    FROM cases
    GROUP BY rule
), grouped AS (
    SELECT
        p.month, p.rule, coalesce(p.fixmedins_code, '*') AS fixmedins_code,
        count(DISTINCT p.case_id) FILTER (WHERE p.opened_month = p.month) AS new_cases,
        count(DISTINCT p.case_id) FILTER (WHERE (p.month, p.case_id) IN (SELECT (month, case_id) FROM reopened)) AS reopened,
        count(DISTINCT p.case_id) FILTER (WHERE p.status IN ('new', 'reviewing', 'appealed')) AS open_cases,
        count(DISTINCT p.case_id) FILTER (WHERE p.status IN ('confirmed', 'dismissed')) AS closed_cases,
        max(date_diff('day', p.first_seen::DATE, $today)) FILTER (WHERE p.status IN ('new', 'reviewing', 'appealed'))
            AS open_age_days_max,
        round(avg(date_diff('day', p.first_seen::DATE, $today)) FILTER (WHERE p.status IN ('new', 'reviewing', 'appealed')), 1)
            AS open_age_days_avg
    FROM per_row p
    GROUP BY GROUPING SETS ((p.month, p.rule), (p.month, p.rule, p.fixmedins_code))
), recovered AS (
    SELECT opened_month AS month, rule, '*' AS fixmedins_code, sum(recovered) AS recovered
    FROM cases WHERE status = 'confirmed' GROUP BY ALL
    UNION ALL
    SELECT c.opened_month, c.rule, x.code, sum(c.recovered)
    FROM cases c, unnest(string_split(c.pharmacy_list, ',')) AS x(code)
    WHERE c.status = 'confirmed' GROUP BY ALL
)
SELECT
    g.month, g.rule, g.fixmedins_code, g.new_cases, g.reopened, g.open_cases, g.closed_cases,
    round(CASE WHEN g.fixmedins_code = '*'
          THEN (SELECT sum(a.amount) FROM amounts a WHERE a.month = g.month AND a.rule = g.rule)
          ELSE (SELECT sum(a.amount) FROM amounts a WHERE a.month = g.month AND a.rule = g.rule
                AND a.fixmedins_code = g.fixmedins_code) END, 2) AS amount_at_stake,
    round(coalesce(rc.recovered, 0), 2) AS recovered,
    g.open_age_days_max, g.open_age_days_avg,
    round(pr.confirmed / nullif(pr.decided, 0), 4) AS rule_precision,
    pr.decided AS rule_decided_cases
FROM grouped g
LEFT JOIN recovered rc ON rc.month = g.month AND rc.rule = g.rule AND rc.fixmedins_code = g.fixmedins_code
LEFT JOIN precision pr ON pr.rule = g.rule
ORDER BY g.month, g.rule, g.fixmedins_code = '*' DESC, g.fixmedins_code
