-- relation: evidence_new
-- needs: finding_rows, evidence_rows, events
-- meaning: the event columns of this check's evidence rows (finding_rows), for the runner to
--   store in evidence_rows under the check's month scope: copied from evidence_rows when an
--   earlier check stored the event (under any scope), else read from events for the rows of
--   the checked months $month_lo .. $month_hi (the scan skips the row groups of other months;
--   and reads nothing when every row is known already). Rows of earlier months that no check
--   stored are left out: the export reads them from events. The one read of the text columns
--   of events a check makes, so that the export, which shows them, makes none.
WITH wanted AS (
    SELECT DISTINCT event_id FROM finding_rows
), known AS (
    SELECT DISTINCT ON (x.event_id) x.* EXCLUDE (month)
    FROM evidence_rows x
    WHERE x.event_id IN (SELECT w.event_id FROM wanted w)
), fresh AS (
    SELECT
        e.event_id, e.code_raw, e.kind, e.fixmedins_code, e.fixmedins_name,
        e.rtal_docno, e.med_list_codg, e.fixmedins_hilist_name, e.product_id, e.setl_id, e.psn_no, e.trdn_flag,
        e.sel_retn_cnt, e.qty, e.price, e.insured, e.sel_retn_time, e.ts, e.month AS event_month, e.file_id,
        e.src_line
    FROM events e
    WHERE e.month >= $month_lo
      AND e.month <= $month_hi
      AND e.event_id IN (
          SELECT w.event_id FROM wanted w
          WHERE w.event_id NOT IN (SELECT k.event_id FROM known k)
      )
)
SELECT CAST($scope AS VARCHAR) AS month, k.* FROM known k
UNION ALL
SELECT CAST($scope AS VARCHAR) AS month, f.* FROM fresh f
