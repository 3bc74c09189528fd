-- relation: store_schema (the tables meta, files, events, rejects, code_index)
-- meaning: the tracecode store (DuckDB) that ingest fills. Column names follow the NHSA
--   3505/3506 field names.
CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS files (
    file_id       INTEGER PRIMARY KEY,
    path          VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    size          BIGINT NOT NULL,
    fingerprint   VARCHAR NOT NULL UNIQUE,   -- xxh3_128 of the file's bytes
    kind          VARCHAR NOT NULL,          -- sale | return | mixed (JSON with both infno)
    format        VARCHAR NOT NULL,          -- csv | xlsx | json | parquet
    encoding      VARCHAR,
    rows_read     BIGINT NOT NULL,           -- input records (lines / sheet rows / JSON selinfo items)
    rows_stored   BIGINT NOT NULL,           -- records that produced events
    rows_rejected BIGINT NOT NULL,           -- records sent to rejects
    events        BIGINT NOT NULL,           -- event rows (one per code) stored
    loaded_at     TIMESTAMP NOT NULL,
    rows_skipped  BIGINT NOT NULL DEFAULT 0, -- blank / all-empty rows: no record, neither stored nor rejected
    header_line   INTEGER NOT NULL DEFAULT 1 -- line or sheet row of the header (> 1: a title block above it)
);
-- Stores written before rows_skipped / header_line existed gain them here.
ALTER TABLE files ADD COLUMN IF NOT EXISTS rows_skipped BIGINT DEFAULT 0;
ALTER TABLE files ADD COLUMN IF NOT EXISTS header_line INTEGER DEFAULT 1;

-- One row per (input record, traceability code).
CREATE TABLE IF NOT EXISTS events (
    event_id              BIGINT NOT NULL,   -- file_id * 2^32 + sequence in file: unique, ingest order
    code_key              BIGINT NOT NULL,   -- xxh3_64 of drug_trac_codg, as signed 64-bit
    drug_trac_codg        VARCHAR NOT NULL,  -- normalised code
    code_raw              VARCHAR NOT NULL,  -- the code as uploaded
    code_status           VARCHAR NOT NULL,  -- valid | invalid
    code_scheme           VARCHAR,           -- nhsa20 | gs1 | NULL when invalid
    invalid_reason        VARCHAR,
    product_id            VARCHAR,           -- 7-digit product prefix (nhsa20) or GTIN-14 (gs1)
    kind                  VARCHAR NOT NULL,  -- sale (3505) | return (3506)
    fixmedins_code        VARCHAR NOT NULL,
    fixmedins_name        VARCHAR,
    med_list_codg         VARCHAR,
    fixmedins_hilist_id   VARCHAR,
    fixmedins_hilist_name VARCHAR,
    fixmedins_bchno       VARCHAR,
    rtal_docno            VARCHAR NOT NULL,
    medins_prod_sel_no    VARCHAR,
    setl_id               VARCHAR,
    mdtrt_sn              VARCHAR,
    psn_no                VARCHAR,
    mdtrt_setl_type       VARCHAR,
    manu_lotnum           VARCHAR,
    manu_date             VARCHAR,
    expy_end              VARCHAR,
    trdn_flag             SMALLINT NOT NULL, -- 0 whole pack, 1 split (拆零)
    sel_retn_cnt          DOUBLE,            -- quantity of the uploaded line
    qty                   DOUBLE,            -- this code's share of the line: sel_retn_cnt / codes_in_line
    codes_in_line         INTEGER NOT NULL,
    price                 DOUBLE,
    sel_retn_time         TIMESTAMP NOT NULL,
    ts                    BIGINT NOT NULL,   -- epoch seconds of sel_retn_time (portable arithmetic)
    month                 VARCHAR NOT NULL,  -- YYYY-MM of sel_retn_time
    insured               BOOLEAN NOT NULL,  -- setl_id present or mdtrt_setl_type = '1'
    file_id               INTEGER NOT NULL,
    src_line              BIGINT NOT NULL    -- line (CSV, xlsx row) or record number (JSON, Parquet)
);

CREATE TABLE IF NOT EXISTS rejects (
    file_id    INTEGER NOT NULL,
    src_line   BIGINT NOT NULL,
    field      VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,
    raw_value  VARCHAR,
    raw_record VARCHAR                       -- the whole input record, as JSON
);

-- Sorted runs of (code_key, event_id), one run per ingest command, so that one code's
-- events are found by zone-map pruning in milliseconds (`tracecode trace`). Events of files
-- newer than meta.indexed_file_id are not in it yet and are scanned directly.
CREATE TABLE IF NOT EXISTS code_index (
    code_key BIGINT NOT NULL,
    event_id BIGINT NOT NULL
);

-- 3507 deletes (and CSVs loaded with --kind delete): each withdraws the earlier upload of that
-- pharmacy with that fixmedins_bchno (stage `withdrawn` says which rows). Kept whether or not the
-- record it names is in the store: it may arrive before the record.
CREATE TABLE IF NOT EXISTS deletes (
    file_id         INTEGER NOT NULL,
    src_line        BIGINT NOT NULL,
    fixmedins_code  VARCHAR NOT NULL,
    fixmedins_bchno VARCHAR NOT NULL,
    inv_data_type   VARCHAR,                -- NHSA 进销存数据类型: 1 inventory, 2 stock change,
                                            -- 3 purchase (3503/3504), 4 sale (3505/3506); NULL: not given
    deleted_at      TIMESTAMP               -- the message's inf_time (or the CSV's time column), when given
);
