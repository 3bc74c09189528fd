-- relation: cases_refresh
-- needs: case_rows, case_touched
-- meaning: the figures of each touched case over every flagged row it has taken in: first and
--   last seen, rows, pharmacies, amount (NULL when no row has a price), latest month and the
--   fingerprint (row count : checksum of the event ids).
SELECT
    r.case_id,
    min(r.sel_retn_time) AS first_seen,
    max(r.sel_retn_time) AS last_seen,
    count(*) AS flagged_rows,
    count(DISTINCT r.fixmedins_code) AS pharmacies,
    string_agg(DISTINCT r.fixmedins_code, ',' ORDER BY r.fixmedins_code) AS pharmacy_list,
    sum(r.amount) AS amount,
    max(r.month) AS last_month,
    count(*) || ':' || sum(hash(r.event_id)) AS fingerprint
FROM case_rows r
JOIN case_touched t ON t.case_id = r.case_id
GROUP BY r.case_id
