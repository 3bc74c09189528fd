-- relation: export_pharmacies
-- needs: (none: the bound lists)
-- meaning: one row per pharmacy of a per-pharmacy export: its index pidx ($pidx), code ($code)
--   and folder name ($folder), from three bound lists of the same length (no pyarrow to import).
SELECT CAST(unnest(CAST($pidx AS INTEGER[])) AS INTEGER) AS pidx,
       CAST(unnest(CAST($code AS VARCHAR[])) AS VARCHAR) AS fixmedins_code,
       CAST(unnest(CAST($folder AS VARCHAR[])) AS VARCHAR) AS folder
