-- stage: withdrawn
-- needs: deletes, events
-- meaning: the event rows that a 3507 delete withdrew: no rule counts them (trace and the
--   evidence still show them, marked withdrawn). A delete names a record by pharmacy and
--   fixmedins_bchno, and by inv_data_type its kind: 4 a sale or return, 3 a purchase or
--   purchase return, none given either. The records of one pharmacy, batch number and kind
--   are taken in upload order (file, then line): n deletes withdraw the first n of them, so a
--   record deleted and uploaded again with the same batch number counts once, and a delete of
--   a record that is not in the store withdraws nothing (until that record is loaded).
WITH asked AS (
    SELECT
        d.fixmedins_code,
        d.fixmedins_bchno,
        d.inv_data_type,
        COUNT(*) AS n
    FROM deletes d
    GROUP BY d.fixmedins_code, d.fixmedins_bchno, d.inv_data_type
), named AS (
    SELECT
        e.event_id,
        e.fixmedins_code,
        e.fixmedins_bchno,
        e.file_id,
        e.src_line,
        CASE WHEN e.kind IN ('purchase', 'purchase_return') THEN '3' ELSE '4' END AS family
    FROM events e
    WHERE e.fixmedins_bchno IS NOT NULL
      AND EXISTS (
          SELECT 1 FROM asked a
          WHERE a.fixmedins_code = e.fixmedins_code
            AND a.fixmedins_bchno = e.fixmedins_bchno
      )
), records AS (
    SELECT DISTINCT fixmedins_code, fixmedins_bchno, family, file_id, src_line FROM named
), ranked AS (
    SELECT
        r.*,
        ROW_NUMBER() OVER (
            PARTITION BY r.fixmedins_code, r.fixmedins_bchno, r.family
            ORDER BY r.file_id, r.src_line
        ) AS upload_no
    FROM records r
), families AS (
    SELECT '3' AS family
    UNION ALL
    SELECT '4' AS family
), quota AS (
    -- how many records of each pharmacy, batch number and kind the deletes withdraw
    SELECT a.fixmedins_code, a.fixmedins_bchno, f.family, SUM(a.n) AS n
    FROM asked a
    JOIN families f
      ON a.inv_data_type = f.family
      OR a.inv_data_type IS NULL
    GROUP BY a.fixmedins_code, a.fixmedins_bchno, f.family
), allowed AS (
    SELECT r.fixmedins_code, r.fixmedins_bchno, r.family, r.file_id, r.src_line
    FROM ranked r
    JOIN quota q
      ON q.fixmedins_code = r.fixmedins_code
     AND q.fixmedins_bchno = r.fixmedins_bchno
     AND q.family = r.family
    WHERE r.upload_no <= q.n
)
SELECT n.event_id
FROM named n
JOIN allowed w
  ON w.fixmedins_code = n.fixmedins_code
 AND w.fixmedins_bchno = n.fixmedins_bchno
 AND w.family = n.family
 AND w.file_id = n.file_id
 AND w.src_line = n.src_line
