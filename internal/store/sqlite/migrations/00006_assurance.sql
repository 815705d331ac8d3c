-- +goose Up

-- How strongly a released session was verified: "password" (Jellyfin's
-- password or an approval only), "lan" (the LAN bypass, no factor passed),
-- "two-factor", "phishing-resistant"; "" for tokens the gateway adopted
-- without releasing them. What a session may do later is decided on it.
ALTER TABLE tokens ADD COLUMN assurance TEXT NOT NULL DEFAULT '';
UPDATE tokens SET assurance = CASE
    WHEN source = 'resolved' OR kind <> 'session' THEN ''
    WHEN factor = '' THEN 'password'
    WHEN factor = 'lan' THEN 'lan'
    ELSE 'two-factor'
END;

-- User names are compared the way Jellyfin compares them: upper-cased,
-- untrimmed (jellyfin.FoldName). upper() folds ASCII; a sign-in refreshes
-- any other name with the full fold.
UPDATE accounts SET name_folded = upper(user_name);

-- +goose Down
ALTER TABLE tokens DROP COLUMN assurance;
