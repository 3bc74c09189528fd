-- The check results, created by tracecode.rules (not part of the ingest schema).
-- findings: one row per (month scope, rule, code); month = 'YYYY-MM' or 'all'.
CREATE TABLE IF NOT EXISTS findings (
    month          VARCHAR NOT NULL,
    rule           VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,
    label_zh       VARCHAR NOT NULL,
    code_key       BIGINT NOT NULL,
    drug_trac_codg VARCHAR NOT NULL,   -- normalised code; for invalid_code the raw value
    first_seen     TIMESTAMP NOT NULL, -- over the evidence rows
    last_seen      TIMESTAMP NOT NULL,
    occurrences    BIGINT NOT NULL,    -- evidence rows (all rows of the code up to the cut-off)
    flagged_rows   BIGINT NOT NULL,    -- flagged rows inside the month scope
    pharmacies     BIGINT NOT NULL,    -- distinct pharmacies over the evidence rows
    pharmacy_list  VARCHAR NOT NULL,   -- those pharmacies, sorted, comma-separated
    detail         VARCHAR NOT NULL,   -- plain words: why
    checked_at     TIMESTAMP NOT NULL
);

-- The evidence: every row of each finding's code; flagged = the rule flags this row.
CREATE TABLE IF NOT EXISTS finding_events (
    month          VARCHAR NOT NULL,
    rule           VARCHAR NOT NULL,
    code_key       BIGINT NOT NULL,
    drug_trac_codg VARCHAR NOT NULL,
    event_id       BIGINT NOT NULL,
    flagged        BOOLEAN NOT NULL
);

-- Incremental summary for product_mismatch: valid sale rows per file, month, product, drug.
CREATE TABLE IF NOT EXISTS product_counts (
    file_id        INTEGER NOT NULL,
    month          VARCHAR NOT NULL,
    product_id     VARCHAR NOT NULL,
    med_list_codg  VARCHAR NOT NULL,
    n              BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS product_counts_files (
    file_id        INTEGER NOT NULL
);

-- One row per check run and rule (what was asked, with which parameters).
CREATE TABLE IF NOT EXISTS check_runs (
    month          VARCHAR NOT NULL,
    rule           VARCHAR NOT NULL,
    close_days     INTEGER NOT NULL,
    catalog        VARCHAR,
    codes          BIGINT NOT NULL,
    flagged_rows   BIGINT NOT NULL,
    pharmacies     BIGINT NOT NULL,
    checked_at     TIMESTAMP NOT NULL
);

CREATE OR REPLACE VIEW evidence AS
SELECT
    fe.month,
    fe.rule,
    fe.drug_trac_codg,
    fe.flagged,
    e.event_id,
    e.kind,
    e.fixmedins_code,
    e.fixmedins_name,
    e.rtal_docno,
    e.medins_prod_sel_no,
    e.sel_retn_time,
    e.sel_retn_cnt,
    e.qty,
    e.trdn_flag,
    e.insured,
    e.setl_id,
    e.mdtrt_setl_type,
    e.med_list_codg,
    e.fixmedins_hilist_name,
    e.product_id,
    e.code_raw,
    e.code_status,
    e.invalid_reason,
    e.month AS event_month,
    f.name AS source_file,
    e.src_line,
    e.file_id,
    fe.code_key
FROM finding_events fe
JOIN events e ON e.event_id = fe.event_id
LEFT JOIN files f ON f.file_id = e.file_id;
