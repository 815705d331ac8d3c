-- +goose Up

-- What vouched for a session when the gateway released it ('' when no
-- second factor was needed).
ALTER TABLE tokens ADD COLUMN factor TEXT NOT NULL DEFAULT '';

-- Jellyfin users as the second factor knows them: the name (looked up
-- lower-cased) and the administrator's requirement. Names are not unique
-- here: Jellyfin keeps them unique, but a rename may reach the gateway after
-- another user has taken the old name, so lookups take the newest row.
CREATE TABLE accounts (
    user_id       TEXT    PRIMARY KEY,
    user_name     TEXT    NOT NULL DEFAULT '',
    name_folded   TEXT    NOT NULL DEFAULT '',
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    requirement   TEXT    NOT NULL DEFAULT '',
    first_seen_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX accounts_name_folded ON accounts (name_folded);

-- One TOTP enrollment per user; the secret is sealed by the gateway.
-- last_step is the newest time step a code was accepted for (-1: none), so
-- a code is never accepted twice.
CREATE TABLE totp (
    user_id      TEXT    PRIMARY KEY,
    user_name    TEXT    NOT NULL DEFAULT '',
    sealed       BLOB    NOT NULL,
    confirmed    INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT -1
);

-- Single-use recovery codes, stored as slow hashes; hint is the code's
-- first two characters.
CREATE TABLE recovery_codes (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT    NOT NULL,
    hint    TEXT    NOT NULL DEFAULT '',
    hash    TEXT    NOT NULL,
    used_at INTEGER
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);

-- Withheld Jellyfin tokens waiting for a second factor; the token is sealed.
CREATE TABLE challenges (
    id          TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL,
    user_name   TEXT    NOT NULL DEFAULT '',
    is_admin    INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    device_id   TEXT    NOT NULL DEFAULT '',
    client      TEXT    NOT NULL DEFAULT '',
    device_name TEXT    NOT NULL DEFAULT '',
    version     TEXT    NOT NULL DEFAULT '',
    ip          TEXT    NOT NULL DEFAULT '',
    server_id   TEXT    NOT NULL DEFAULT '',
    web         INTEGER NOT NULL DEFAULT 0 CHECK (web IN (0, 1)),
    source      TEXT    NOT NULL DEFAULT '',
    sealed      BLOB,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX challenges_user_id ON challenges (user_id);
CREATE INDEX challenges_expires_at ON challenges (expires_at);

-- Browsers that passed a challenge; the cookie carries id and the current
-- nonce, which changes on every use.
CREATE TABLE trusted_browsers (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL,
    device_id    TEXT    NOT NULL DEFAULT '',
    nonce        BLOB    NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX trusted_browsers_user_id ON trusted_browsers (user_id);

-- Native clients that cannot answer a challenge and wait for (or hold) an
-- approval. token_hash is the token released after approval (NULL: none).
CREATE TABLE devices (
    id          TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL,
    user_name   TEXT    NOT NULL DEFAULT '',
    device_id   TEXT    NOT NULL DEFAULT '',
    client      TEXT    NOT NULL DEFAULT '',
    device_name TEXT    NOT NULL DEFAULT '',
    ip          TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    approved_at INTEGER,
    expires_at  INTEGER,
    token_hash  BLOB
);
CREATE INDEX devices_user_id ON devices (user_id);
CREATE INDEX devices_user_device ON devices (user_id, device_id);

-- +goose Down
DROP INDEX devices_user_device;
DROP INDEX devices_user_id;
DROP TABLE devices;
DROP INDEX trusted_browsers_user_id;
DROP TABLE trusted_browsers;
DROP INDEX challenges_expires_at;
DROP INDEX challenges_user_id;
DROP TABLE challenges;
DROP INDEX recovery_codes_user_id;
DROP TABLE recovery_codes;
DROP TABLE totp;
DROP INDEX accounts_name_folded;
DROP TABLE accounts;
ALTER TABLE tokens DROP COLUMN factor;
