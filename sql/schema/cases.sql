-- relation: cases_schema (the tables cases, case_rows, case_events)
-- meaning: the cases (a finding followed over months, with its decision), the flagged rows each
--   case has taken in, and the append-only history of every change; created by check and the
--   cases commands (tracecode.cases.store), not part of the ingest schema.

-- One row per (rule, subject). subject = the finding's drug_trac_codg (per-code rules) or the
-- key the rule puts there (e.g. pharmacy/drug for a per-(pharmacy, drug) rule): a rule with
-- another subject needs no schema change.
CREATE TABLE IF NOT EXISTS cases (
    case_id        VARCHAR NOT NULL,   -- unique by construction; 'TC-' || rule initials || '-' || md5(rule, subject)[1:10]
    rule           VARCHAR NOT NULL,
    subject        VARCHAR NOT NULL,
    drug_trac_codg VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,    -- new | reviewing | appealed | confirmed | dismissed
    first_seen     TIMESTAMP NOT NULL,  -- over the case's flagged rows
    last_seen      TIMESTAMP NOT NULL,
    flagged_rows   BIGINT NOT NULL,
    pharmacies     BIGINT NOT NULL,
    pharmacy_list  VARCHAR NOT NULL,
    amount         DOUBLE,              -- sum of price x qty over the flagged rows (NULL: no price)
    recovered      DOUBLE,              -- yuan recovered (confirmed)
    reason         VARCHAR,             -- the decision's reason (dismissed: one of the list)
    until          DATE,                -- dismissed: suppressed until this date
    opened_month   VARCHAR NOT NULL,    -- the month the check that opened it checked (no --month: its first row's)
    last_month     VARCHAR NOT NULL,    -- the latest month of its flagged rows
    decided_at     TIMESTAMP,           -- when it was last confirmed or dismissed
    fingerprint    VARCHAR NOT NULL,    -- count:checksum of its flagged event ids
    version        BIGINT NOT NULL,     -- +1 on every change (the workbook's guard)
    updated_at     TIMESTAMP NOT NULL
);

-- Every flagged row a case has taken in (never removed: re-running a month loses nothing).
CREATE TABLE IF NOT EXISTS case_rows (
    case_id        VARCHAR NOT NULL,
    event_id       BIGINT NOT NULL,
    month          VARCHAR NOT NULL,
    fixmedins_code VARCHAR NOT NULL,
    sel_retn_time  TIMESTAMP NOT NULL,
    amount         DOUBLE,
    added_at       TIMESTAMP NOT NULL,
    added_month    VARCHAR NOT NULL     -- the month scope of the check that added it
);

-- The history: append-only; no command updates or deletes a row.
CREATE TABLE IF NOT EXISTS case_events (
    case_id        VARCHAR NOT NULL,
    "at"           TIMESTAMP NOT NULL,  -- quoted: AT and BY are SQL keywords
    seq            BIGINT NOT NULL,     -- order within the store
    "by"           VARCHAR NOT NULL,    -- a person, or 'check'
    month          VARCHAR,             -- the check's month scope (events written by check)
    from_status    VARCHAR,             -- NULL when the case opened
    to_status      VARCHAR NOT NULL,
    reason         VARCHAR,
    detail         VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS case_event_seq;
