-- relation: ring_pairs (the pharmacy graph's candidate edges)
-- needs: recycled_flows
-- meaning: one row per (pharmacy A, pharmacy B), A <> B: the packs bought on insurance at A
--   and sold again at B in the checked months (packs = distinct source purchases), the
--   resales, the persons who bought them, the time span. A pack sold again at the pharmacy
--   that sold it (A = B) is not a flow between pharmacies and not an edge.
SELECT
    src_pharmacy,
    dst_pharmacy,
    COUNT(DISTINCT src_event_id) AS packs,
    COUNT(*) AS resales,
    COUNT(DISTINCT psn_no) AS persons,
    MIN(src_time) AS first_bought,
    MAX(dst_time) AS last_resold
FROM recycled_flows
WHERE src_pharmacy <> dst_pharmacy
GROUP BY src_pharmacy, dst_pharmacy
ORDER BY src_pharmacy, dst_pharmacy
