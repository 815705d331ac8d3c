-- +goose Up

-- Jellyfin access tokens the gateway knows, keyed by SHA-256 of the token.
-- Times are Unix nanoseconds UTC; NULL means "not yet".
CREATE TABLE tokens (
    hash          BLOB    PRIMARY KEY,
    kind          TEXT    NOT NULL,
    user_id       TEXT    NOT NULL DEFAULT '',
    user_name     TEXT    NOT NULL DEFAULT '',
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    device_id     TEXT    NOT NULL DEFAULT '',
    client        TEXT    NOT NULL DEFAULT '',
    device_name   TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT '',
    sealed        BLOB,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER,
    revoked_at    INTEGER,
    logged_out_at INTEGER
);
CREATE INDEX tokens_user_id ON tokens (user_id);

-- The change feed other processes poll to refresh their caches.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT    NOT NULL,
    key  TEXT    NOT NULL,
    at   INTEGER NOT NULL
);

-- The hash-chained audit log; seq is assigned by the appender so the chain
-- has no gaps.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    time      INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    user_id   TEXT    NOT NULL DEFAULT '',
    user_name TEXT    NOT NULL DEFAULT '',
    ip        TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT '',
    prev_hash BLOB,
    hash      BLOB    NOT NULL
);

-- +goose Down
DROP TABLE audit;
DROP TABLE changes;
DROP INDEX tokens_user_id;
DROP TABLE tokens;
