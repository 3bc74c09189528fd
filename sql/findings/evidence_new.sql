-- relation: evidence_new
-- needs: finding_rows, finding_evidence, events
-- meaning: the columns of the events of this check's evidence rows (finding_rows), one row per
--   event: copied from finding_evidence when an earlier check stored the event (under any
--   scope), else read from events for the rows of the checked months $month_lo .. $month_hi
--   (the scan skips the row groups of other months, and reads nothing when every event is
--   known). Events of earlier months that no check stored are left out: the export reads
--   those from events. The one read of the text columns of events a check makes, so that the
--   export, which shows them, makes none.
WITH wanted AS (
    SELECT DISTINCT event_id FROM finding_rows
), known AS (
    SELECT DISTINCT ON (x.event_id)
        x.event_id, x.code_raw, x.kind, x.fixmedins_code, x.fixmedins_name, x.rtal_docno, x.med_list_codg,
        x.fixmedins_hilist_name, x.product_id, x.setl_id, x.psn_no, x.trdn_flag, x.sel_retn_cnt, x.qty, x.price,
        x.insured, x.sel_retn_time, x.ts, x.event_month, x.file_id, x.src_line
    FROM finding_evidence x
    WHERE x.event_id IN (SELECT w.event_id FROM wanted w)
), fresh AS (
    SELECT
        e.event_id, e.code_raw, e.kind, e.fixmedins_code, e.fixmedins_name, e.rtal_docno, e.med_list_codg,
        e.fixmedins_hilist_name, e.product_id, e.setl_id, e.psn_no, e.trdn_flag, e.sel_retn_cnt, e.qty, e.price,
        e.insured, e.sel_retn_time, e.ts, e.month AS event_month, e.file_id, e.src_line
    FROM events e
    WHERE e.month >= $month_lo
      AND e.month <= $month_hi
      AND e.event_id IN (
          SELECT w.event_id FROM wanted w
          WHERE w.event_id NOT IN (SELECT k.event_id FROM known k)
      )
)
SELECT * FROM known
UNION ALL
SELECT * FROM fresh
