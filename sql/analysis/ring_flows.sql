-- relation: ring_flows (the flows inside each ring)
-- needs: recycled_flows, ring_members (ring_idx, fixmedins_code: registered by tracecode.analysis.rings)
-- meaning: every recycled flow whose source and resale pharmacies are two different members of
--   the same ring, whatever the weight of that pharmacy pair.
SELECT
    m.ring_idx,
    f.src_event_id,
    f.src_pharmacy,
    f.src_name,
    f.dst_pharmacy,
    f.dst_name,
    f.psn_no,
    f.med_list_codg,
    f.drug_name,
    f.value,
    f.src_time,
    f.dst_time,
    f.days
FROM recycled_flows f
JOIN ring_members m ON m.fixmedins_code = f.src_pharmacy
JOIN ring_members m2 ON m2.fixmedins_code = f.dst_pharmacy AND m2.ring_idx = m.ring_idx
WHERE f.src_pharmacy <> f.dst_pharmacy
ORDER BY m.ring_idx, f.src_pharmacy, f.dst_pharmacy, f.src_event_id, f.dst_time
