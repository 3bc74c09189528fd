-- relation: findings_schema (the tables findings, finding_events, finding_evidence, check_runs
--   and the summaries kept across checks)
-- meaning: the check results and the summaries check keeps, created by check
--   (tracecode.rules.summaries), not part of the ingest schema.

-- The findings: one row per (month scope, rule, code); month = 'YYYY-MM' or 'all'.
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
    checked_at     TIMESTAMP NOT NULL,
    amount         DOUBLE              -- yuan: sum of price x quantity over the flagged rows inside
                                       -- the month scope; NULL when none of them has a price
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

-- The rules' narrow copy of events (fixed-width columns only), kept in step per file by
-- check (stage rule_events_new): a monthly check reads the history from here.
CREATE TABLE IF NOT EXISTS rule_events (
    event_id       BIGINT NOT NULL,
    file_id        INTEGER NOT NULL,
    code_key       BIGINT NOT NULL,
    code_guard     BIGINT NOT NULL,    -- guard_hash(drug_trac_codg), or of code_raw when invalid
    doc_guard      BIGINT NOT NULL,    -- guard_hash(rtal_docno)
    month          VARCHAR NOT NULL,
    valid          SMALLINT NOT NULL,
    is_return      SMALLINT NOT NULL,
    trdn_flag      SMALLINT NOT NULL,
    insured        BOOLEAN NOT NULL,
    qty            DOUBLE,
    ts             BIGINT NOT NULL,
    sel_retn_time  TIMESTAMP NOT NULL,
    ph_id          INTEGER NOT NULL,   -- rule_dict ids
    med_id         INTEGER,
    product_no     INTEGER,
    invalid_raw    VARCHAR,            -- code_raw of an invalid code (NULL when valid)
    invalid_reason VARCHAR
);

CREATE TABLE IF NOT EXISTS rule_events_files (
    file_id        INTEGER NOT NULL
);

-- The rule_events rows of every code_key that occurs more than once (a few per cent of the
-- store), kept in step per file (stage repeat_rows_new): where a monthly check finds a code's
-- earlier rows.
CREATE TABLE IF NOT EXISTS repeat_rows (
    event_id       BIGINT NOT NULL,
    file_id        INTEGER NOT NULL,
    code_key       BIGINT NOT NULL,
    code_guard     BIGINT NOT NULL,
    doc_guard      BIGINT NOT NULL,
    month          VARCHAR NOT NULL,
    valid          SMALLINT NOT NULL,
    is_return      SMALLINT NOT NULL,
    trdn_flag      SMALLINT NOT NULL,
    insured        BOOLEAN NOT NULL,
    qty            DOUBLE,
    ts             BIGINT NOT NULL,
    sel_retn_time  TIMESTAMP NOT NULL,
    ph_id          INTEGER NOT NULL,
    med_id         INTEGER,
    product_no     INTEGER,
    invalid_raw    VARCHAR,            -- code_raw of an invalid code (NULL when valid)
    invalid_reason VARCHAR
);

CREATE TABLE IF NOT EXISTS repeat_rows_files (
    file_id        INTEGER NOT NULL
);

-- Small integers for pharmacy codes, drug codes and product ids (field = pharmacy | drug | product).
CREATE TABLE IF NOT EXISTS rule_dict (
    field          VARCHAR NOT NULL,
    id             INTEGER NOT NULL,
    value          VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS rule_dict_files (
    file_id        INTEGER NOT NULL
);

-- The evidence of each month scope as the export shows it: finding_events' rows with the
-- columns of their events and the name of the event's file, stored by check
-- (sql/findings/finding_evidence.sql) in the order of suspicious_events.csv, so that an export reads
-- neither the text columns of the whole events table nor sorts. meta 'evidence:<month>' holds
-- what the rows were stored for (rule order, count and checksum of the scope's finding_events):
-- the export reads the rows in stored order only when they still match. Rows whose event was not
-- read by the check (earlier months of a --month check) are missing: the export then reads
-- those from events and sorts.
CREATE TABLE IF NOT EXISTS finding_evidence (
    month                 VARCHAR NOT NULL,  -- as finding_events
    rule                  VARCHAR NOT NULL,
    code_key              BIGINT NOT NULL,
    drug_trac_codg        VARCHAR NOT NULL,
    flagged               BOOLEAN NOT NULL,
    event_id              BIGINT NOT NULL,
    code_raw              VARCHAR NOT NULL,  -- the event's own columns, as in events
    kind                  VARCHAR NOT NULL,
    fixmedins_code        VARCHAR NOT NULL,
    fixmedins_name        VARCHAR,
    rtal_docno            VARCHAR NOT NULL,
    med_list_codg         VARCHAR,
    fixmedins_hilist_name VARCHAR,
    product_id            VARCHAR,
    setl_id               VARCHAR,
    psn_no                VARCHAR,
    trdn_flag             SMALLINT NOT NULL,
    sel_retn_cnt          DOUBLE,
    qty                   DOUBLE,
    price                 DOUBLE,
    insured               BOOLEAN NOT NULL,
    sel_retn_time         TIMESTAMP NOT NULL,
    ts                    BIGINT NOT NULL,
    event_month           VARCHAR NOT NULL,  -- events.month
    file_id               INTEGER NOT NULL,
    src_line              BIGINT NOT NULL,
    source_file           VARCHAR NOT NULL   -- files.name
);

-- Code rows uploaded per file, month and pharmacy, with the pharmacy's latest non-NULL name in
-- the file (name_event_id: the event it comes from), kept in step per file like
-- product_counts (sql/export/pharmacy_rows_new.sql): what summary.csv, the per-pharmacy folders and
-- the rejects' pharmacy read instead of counting the events.
CREATE TABLE IF NOT EXISTS pharmacy_rows (
    file_id        INTEGER NOT NULL,
    month          VARCHAR NOT NULL,
    fixmedins_code VARCHAR NOT NULL,
    n              BIGINT NOT NULL,
    fixmedins_name VARCHAR,
    name_event_id  BIGINT,
    purchase_rows  BIGINT                   -- 3503/3504 code rows (sale_without_purchase judges the pharmacy)
);
-- Stores written before purchase_rows existed gain it (NULL, counted as none, for their older files).
ALTER TABLE pharmacy_rows ADD COLUMN IF NOT EXISTS purchase_rows BIGINT;

CREATE TABLE IF NOT EXISTS pharmacy_rows_files (
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
