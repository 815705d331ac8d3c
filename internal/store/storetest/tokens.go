package storetest

import (
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func runTokens(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("PendingLogouts", func(t *testing.T) { testPendingLogouts(t, open(t)) })
	t.Run("ResolvedKeepsReleased", func(t *testing.T) { testResolvedKeepsReleased(t, open(t)) })
}

// sessionToken is a released session of user name, signed in at created.
func sessionToken(name string, created time.Time) store.Token {
	return store.Token{
		Hash: hashOf(name), Kind: store.KindSession, UserID: "u-" + name, UserName: name,
		DeviceID: "dev-" + name, Client: "Jellyfin Web", DeviceName: "Firefox", IP: "192.0.2.7",
		Source: "login", Factor: "totp", Assurance: store.AssuranceTwoFactor, Sealed: []byte{1, 2, 3},
		CreatedAt: created, LastSeenAt: created,
	}
}

func normToken(tok store.Token) store.Token {
	tok.CreatedAt, tok.LastSeenAt = utc(tok.CreatedAt), utc(tok.LastSeenAt)
	tok.RevokedAt, tok.LoggedOutAt = utc(tok.RevokedAt), utc(tok.LoggedOutAt)
	tok.Sealed = blob(tok.Sealed)
	return tok
}

func normTokens(list []store.Token) []store.Token {
	out := []store.Token{}
	for _, tok := range list {
		out = append(out, normToken(tok))
	}
	return out
}

// testPendingLogouts: the logouts still owed are exactly the revoked
// session tokens without a logout, oldest revocation first, returned whole.
func testPendingLogouts(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.PendingLogouts(ctx)
	must(t, err)
	mustEqual(t, "PendingLogouts of an empty store", got, nil, normTokens)

	active := sessionToken("active", t0)
	late, early := sessionToken("late", t0), sessionToken("early", t0.Add(time.Minute))
	done := sessionToken("done", t0)
	key := store.Token{Hash: hashOf("key"), Kind: store.KindAPIKey, Source: "resolved", CreatedAt: t0}
	for _, tok := range []store.Token{active, late, early, done, key} {
		must(t, s.PutToken(ctx, tok))
	}
	revoke := func(tok *store.Token, at time.Time) {
		t.Helper()
		_, err := s.RevokeToken(ctx, tok.Hash, at)
		must(t, err)
		tok.RevokedAt = at
	}
	revoke(&late, t0.Add(2*time.Hour))
	revoke(&early, t0.Add(time.Hour+us))
	revoke(&done, t0.Add(time.Hour))
	revoke(&key, t0.Add(time.Hour))
	must(t, s.MarkLoggedOut(ctx, done.Hash, t0.Add(3*time.Hour)))

	got, err = s.PendingLogouts(ctx)
	must(t, err)
	mustEqual(t, "PendingLogouts", got, []store.Token{early, late}, normTokens)

	// A logout, by whoever confirmed it, settles the debt.
	must(t, s.MarkLoggedOut(ctx, early.Hash, t0.Add(4*time.Hour)))
	got, err = s.PendingLogouts(ctx)
	must(t, err)
	mustEqual(t, "PendingLogouts after a logout", got, []store.Token{late}, normTokens)
}

// testResolvedKeepsReleased: storing a token as resolved (a process that
// did not have it in memory asked Jellyfin about it) keeps the record of a
// token the gateway released; a released record replaces a resolved one.
func testResolvedKeepsReleased(t *testing.T, s store.Store) {
	ctx := t.Context()
	released := sessionToken("released", t0)
	must(t, s.PutToken(ctx, released))
	resolved := store.Token{Hash: released.Hash, Kind: store.KindSession, UserID: released.UserID,
		UserName: released.UserName, IP: "198.51.100.9", Source: "resolved", Sealed: []byte{4},
		CreatedAt: t0.Add(time.Hour), LastSeenAt: t0.Add(time.Hour)}
	must(t, s.PutToken(ctx, resolved))
	got, err := s.Token(ctx, released.Hash)
	must(t, err)
	mustEqual(t, "released record stored again as resolved", got, released, normToken)

	adopted := resolved
	adopted.Hash = hashOf("adopted")
	must(t, s.PutToken(ctx, adopted))
	signedIn := sessionToken("adopted", t0.Add(2*time.Hour))
	must(t, s.PutToken(ctx, signedIn))
	got, err = s.Token(ctx, adopted.Hash)
	must(t, err)
	mustEqual(t, "resolved record stored again as released", got, signedIn, normToken)
}
