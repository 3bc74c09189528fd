-- relation: ring_persons (person nodes of the ring graph)
-- needs: recycled_flows
-- meaning: for every insured person with at least $min_packs packs that reappeared (the
--   persons `people --min-packs` lists), each (pharmacy where they bought, pharmacy where the
--   pack reappeared) pair with its packs: the person links the two in the graph however few
--   packs took that path.
WITH listed AS (
    SELECT psn_no
    FROM recycled_flows
    WHERE psn_no IS NOT NULL
      AND psn_no <> ''
    GROUP BY psn_no
    HAVING COUNT(DISTINCT src_event_id) >= $min_packs
)
SELECT
    f.psn_no,
    f.src_pharmacy,
    f.dst_pharmacy,
    COUNT(DISTINCT f.src_event_id) AS packs
FROM recycled_flows f
WHERE f.psn_no IN (SELECT psn_no FROM listed)
GROUP BY f.psn_no, f.src_pharmacy, f.dst_pharmacy
ORDER BY f.psn_no, f.src_pharmacy, f.dst_pharmacy
