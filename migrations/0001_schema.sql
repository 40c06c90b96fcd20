-- The stock picker's schema: every stock, and the ones the user follows.
-- Applied once, in a transaction, by the migration runner (tracked in PRAGMA user_version).

CREATE TABLE info (
    id       INTEGER PRIMARY KEY,
    -- Six-digit A-share code, leading zeros kept: text, not a number.
    code     TEXT    NOT NULL UNIQUE CHECK (length(code) = 6 AND code NOT GLOB '*[^0-9]*'),
    short    TEXT    NOT NULL,
    -- Change and turnover in percent (10.01 means 10.01%).
    chg      REAL    NOT NULL,
    turnover REAL    NOT NULL,
    -- Latest price and previous high, in yuan.
    price    REAL    NOT NULL,
    highs    REAL    NOT NULL,
    -- Date of the previous high, YYYY-MM-DD.
    time     TEXT    NOT NULL CHECK (time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')
);

CREATE TABLE focus (
    id        INTEGER PRIMARY KEY,
    note_info TEXT    NOT NULL DEFAULT '',
    -- UNIQUE also gives the index that looking a stock up in the list needs.
    info_id   INTEGER NOT NULL UNIQUE REFERENCES info (id) ON DELETE CASCADE
);
