-- relation: people (the professional drug-buyer ranking, 职业开药人)
-- needs: recycled_flows, events, rule_events
-- meaning: one row per insured person (psn_no of the source purchase) with at least $min_packs
--   packs that reappeared. A pack = one insured whole-pack purchase (a source sale of
--   recycled_flows) that was sold again in the checked months. insured_packs = the person's
--   insured whole-pack purchases (distinct records, valid codes) from the month of their first
--   purchase that reappeared to $month_hi ($month_from, the earliest such month of anyone,
--   only lets the scan skip older months); share =
--   packs / insured_packs. days_median = median over the packs of the days from the purchase
--   to the pack's first reappearance. value = sum of price x quantity of the purchases (NULL
--   when no price was uploaded). bought_at / reappeared_at: 'pharmacy xN' by packs.
--   Purchases without a psn_no (insured by settlement id alone) have no person: not listed.
WITH f AS (
    SELECT *
    FROM recycled_flows
    WHERE psn_no IS NOT NULL
      AND psn_no <> ''
), src AS (
    SELECT
        src_event_id,
        MIN(psn_no) AS psn_no,
        MIN(src_pharmacy) AS src_pharmacy,
        MIN(med_list_codg) AS med_list_codg,
        MIN(drug_name) AS drug_name,
        MIN(value) AS value,
        MIN(src_time) AS src_time,
        MIN(src_month) AS src_month,
        MIN(days) AS days
    FROM f
    GROUP BY src_event_id
), per_person AS (
    SELECT
        psn_no,
        COUNT(*) AS packs,
        COUNT(DISTINCT med_list_codg) AS drugs,
        SUM(value) AS value,
        COUNT(DISTINCT src_pharmacy) AS bought_pharmacies,
        MIN(src_time) AS first_bought,
        MIN(src_month) AS first_month,
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY days) AS days_median
    FROM src
    GROUP BY psn_no
    HAVING COUNT(*) >= $min_packs
), resold AS (
    SELECT
        f.psn_no,
        COUNT(*) AS resales,
        COUNT(DISTINCT f.dst_pharmacy) AS reappeared_pharmacies,
        MAX(f.dst_time) AS last_reappeared
    FROM f
    WHERE f.psn_no IN (SELECT psn_no FROM per_person)
    GROUP BY f.psn_no
), bought_at AS (
    SELECT psn_no, STRING_AGG(src_pharmacy || ' x' || CAST(n AS VARCHAR), '; ' ORDER BY n DESC, src_pharmacy) AS bought_at
    FROM (
        SELECT psn_no, src_pharmacy, COUNT(*) AS n
        FROM src
        WHERE psn_no IN (SELECT psn_no FROM per_person)
        GROUP BY psn_no, src_pharmacy
    ) x
    GROUP BY psn_no
), reappeared_at AS (
    SELECT psn_no, STRING_AGG(dst_pharmacy || ' x' || CAST(n AS VARCHAR), '; ' ORDER BY n DESC, dst_pharmacy) AS reappeared_at
    FROM (
        SELECT psn_no, dst_pharmacy, COUNT(DISTINCT src_event_id) AS n
        FROM f
        WHERE psn_no IN (SELECT psn_no FROM per_person)
        GROUP BY psn_no, dst_pharmacy
    ) x
    GROUP BY psn_no
), drug_list AS (
    SELECT psn_no, STRING_AGG(drug || ' x' || CAST(n AS VARCHAR), '; ' ORDER BY n DESC, drug) AS top_drugs
    FROM (
        SELECT psn_no, COALESCE(MIN(drug_name), med_list_codg, '?') AS drug, COUNT(*) AS n
        FROM src
        WHERE psn_no IN (SELECT psn_no FROM per_person)
        GROUP BY psn_no, med_list_codg
    ) x
    GROUP BY psn_no
), purchases AS MATERIALIZED (
    -- the listed persons' rows: one pass over events reading the person, month and event id only
    SELECT e.psn_no, e.event_id
    FROM events e
    JOIN per_person pp ON pp.psn_no = e.psn_no
    WHERE e.month >= $month_from
      AND e.month <= $month_hi
      AND e.month >= pp.first_month
), bought AS (
    -- their distinct insured whole-pack sale records of valid codes; the rest of each row comes
    -- from the rules' narrow rule_events (pharmacy id, receipt and code hashes: a record is
    -- (pharmacy, receipt, code) as the rules tell copies apart)
    SELECT psn_no, COUNT(*) AS insured_packs
    FROM (
        SELECT DISTINCT p.psn_no, r.ph_id, r.doc_guard, r.code_key, r.code_guard
        FROM purchases p
        JOIN rule_events r ON r.event_id = p.event_id
        WHERE r.is_return = 0
          AND r.insured
          AND r.trdn_flag = 0
          AND r.valid = 1
    ) x
    GROUP BY psn_no
)
SELECT
    p.psn_no,
    p.packs,
    r.resales,
    GREATEST(COALESCE(b.insured_packs, 0), p.packs) AS insured_packs,
    CAST(p.packs AS DOUBLE) / GREATEST(COALESCE(b.insured_packs, 0), p.packs) AS share,
    p.drugs,
    d.top_drugs,
    p.value,
    p.bought_pharmacies,
    ba.bought_at,
    r.reappeared_pharmacies,
    ra.reappeared_at,
    p.days_median,
    p.first_bought,
    r.last_reappeared
FROM per_person p
JOIN resold r ON r.psn_no = p.psn_no
JOIN bought_at ba ON ba.psn_no = p.psn_no
JOIN reappeared_at ra ON ra.psn_no = p.psn_no
JOIN drug_list d ON d.psn_no = p.psn_no
LEFT JOIN bought b ON b.psn_no = p.psn_no
ORDER BY p.packs DESC, share DESC, p.value DESC NULLS LAST, p.psn_no
