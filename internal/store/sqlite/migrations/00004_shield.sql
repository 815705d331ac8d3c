-- +goose Up

-- Banned addresses and networks, keyed by the prefix in CIDR form. A ban
-- that expired or was lifted stays stored: level counts the bans a prefix
-- has had, so the next one escalates. expires_at NULL: until lifted;
-- lifted_at NULL: not lifted.
CREATE TABLE bans (
    prefix     TEXT    PRIMARY KEY,
    reason     TEXT    NOT NULL DEFAULT '',
    source     TEXT    NOT NULL DEFAULT '',
    by_whom    TEXT    NOT NULL DEFAULT '',
    level      INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    lifted_at  INTEGER
);
CREATE INDEX bans_expires_at ON bans (expires_at);

-- The networks a user may sign in from: a JSON array of IPs, CIDRs or host
-- names. A user without a row has no restriction.
CREATE TABLE user_networks (
    user_id    TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL DEFAULT '',
    entries    TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE user_networks;
DROP INDEX bans_expires_at;
DROP TABLE bans;
