-- +goose Up

-- The logouts the gateway still owes: revoked tokens that Jellyfin has not
-- yet confirmed as logged out. The gateway reads them at start and retries
-- them until Jellyfin confirms; the index holds only those rows, so it stays
-- small however many tokens the gateway has seen.
CREATE INDEX tokens_pending_logout ON tokens (revoked_at)
    WHERE revoked_at IS NOT NULL AND logged_out_at IS NULL;

-- +goose Down
DROP INDEX tokens_pending_logout;
