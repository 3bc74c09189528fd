-- stage: pack_units
-- needs: drug_catalog
-- meaning: units per pack (最小包装数量) by med_list_codg, from the optional catalogue (an empty
--   relation without one). When catalogue rows of one drug disagree, the largest is used, so
--   that a legitimately larger pack is never reported as overused.
SELECT
    med_list_codg,
    MAX(pack_units) AS pack_units
FROM drug_catalog
WHERE pack_units IS NOT NULL
GROUP BY med_list_codg
