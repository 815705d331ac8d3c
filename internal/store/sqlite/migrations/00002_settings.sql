-- +goose Up

-- Small named values the gateway keeps between runs (e.g. a fingerprint of
-- the configuration it last started with).
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE settings;
