-- +goose Up

-- Quick Connect requests Jellyfin opened, keyed by SHA-256 of the secret the
-- TV redeems (the secret itself is never stored). authorized_at NULL: not
-- authorised through the gateway yet; the by_* columns say who did.
CREATE TABLE quickconnect_requests (
    secret_hash   BLOB    PRIMARY KEY,
    code          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    authorized_at INTEGER,
    by_user_id    TEXT    NOT NULL DEFAULT '',
    by_user_name  TEXT    NOT NULL DEFAULT '',
    by_is_admin   INTEGER NOT NULL DEFAULT 0 CHECK (by_is_admin IN (0, 1)),
    by_assurance  TEXT    NOT NULL DEFAULT '',
    by_ip         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX quickconnect_requests_code ON quickconnect_requests (code, created_at);
CREATE INDEX quickconnect_requests_expires_at ON quickconnect_requests (expires_at);

-- TOTP enrollments begun and not yet confirmed, one per user; the secret is
-- sealed by the gateway.
CREATE TABLE pending_enrollments (
    user_id    TEXT    PRIMARY KEY,
    sealed     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Throttle events counted over sliding windows, per caller-chosen key.
-- keep_until is when the event may be forgotten. Several events of one key
-- may share an instant, so rows have their own id.
CREATE TABLE throttle_events (
    id         INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    keep_until INTEGER NOT NULL
);
CREATE INDEX throttle_events_key_at ON throttle_events (key, at);
CREATE INDEX throttle_events_keep_until ON throttle_events (keep_until);

-- Addresses (network keys) where a user last signed in successfully.
CREATE TABLE known_addresses (
    user_folded TEXT    NOT NULL,
    addr_key    TEXT    NOT NULL,
    last_at     INTEGER NOT NULL,
    PRIMARY KEY (user_folded, addr_key)
);
CREATE INDEX known_addresses_addr_key ON known_addresses (addr_key, last_at);
CREATE INDEX known_addresses_last_at ON known_addresses (last_at);

-- +goose Down
DROP INDEX known_addresses_last_at;
DROP INDEX known_addresses_addr_key;
DROP TABLE known_addresses;
DROP INDEX throttle_events_keep_until;
DROP INDEX throttle_events_key_at;
DROP TABLE throttle_events;
DROP TABLE pending_enrollments;
DROP INDEX quickconnect_requests_expires_at;
DROP INDEX quickconnect_requests_code;
DROP TABLE quickconnect_requests;
