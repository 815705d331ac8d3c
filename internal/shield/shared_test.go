package shield

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store"
)

// recorder keeps what the shield reported: bans, would-be bans, log lines.
type recorder struct {
	mu    sync.Mutex
	bans  []store.Ban
	would []netip.Prefix
	why   []string
	log   bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.Write(p)
}

func (r *recorder) options(o *Options) {
	o.Logger = slog.New(slog.NewTextHandler(r, nil))
	o.OnBan = func(b store.Ban) { r.mu.Lock(); r.bans = append(r.bans, b); r.mu.Unlock() }
	o.OnWouldBan = func(p netip.Prefix, reason string) {
		r.mu.Lock()
		r.would, r.why = append(r.would, p), append(r.why, reason)
		r.mu.Unlock()
	}
}

func (r *recorder) counts() (bans, would int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bans), len(r.would)
}

func (r *recorder) logLines(substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Count(r.log.String(), substr)
}

// guessers are the names tried at a shared address by everyone but bob:
// a housemate's wrong passwords and a scanner's made-up names.
var guessers = []string{"alice", "root", "admin1", "alice", "admin2", "jellyfin", "Alice", "test", "admin", "guest"}

func TestASharedAddressNeverLocksOutItsUsers(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		home, other, strange string // bob's address, others' at the same key, a stranger's
	}{
		{"IPv4 NAT", "198.51.100.20", "198.51.100.20", "203.0.113.20"},
		{"IPv6 /64 shared by a household", "2001:db8:5:6::10", "2001:db8:5:6:abcd::99", "2001:db8:9:9::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s, c, _ := newShieldWith(t, nil, rec.options)
			ctx := context.Background()
			home, other, stranger := netip.MustParseAddr(tc.home), netip.MustParseAddr(tc.other), netip.MustParseAddr(tc.strange)
			bob := Login{Addr: home, User: "bob"}
			s.Succeeded(bob)
			if !s.KnownAddress(other) || !s.Known(home, "BOB") || s.Known(other, "alice") {
				t.Fatal("bob's success did not make the address known, or made it alice's")
			}

			held := 0
			for i := range 50 {
				c.Advance(3 * time.Second)
				l := Login{Addr: other, User: guessers[i%len(guessers)]}
				if err := s.Allow(ctx, l); err != nil {
					held++ // counted as a failure by Allow
				} else {
					s.Failed(ctx, l)
				}
				if _, banned := s.Banned(other); banned {
					t.Fatalf("the shared address was banned after %d failures", i+1)
				}
				if (i+1)%5 == 0 {
					if err := s.Allow(ctx, bob); err != nil {
						t.Fatalf("bob was held back after %d failures of others: %v", i+1, err)
					}
					s.Succeeded(bob)
				}
			}
			if held == 0 {
				t.Fatal("nobody guessing at the shared address was ever held back")
			}
			if bans, would := rec.counts(); bans != 0 || would != 1 {
				t.Fatalf("shared address: %d bans and %d would-be bans, want 0 and 1 (once per ban window)", bans, would)
			}
			if rec.would[0] != Key(home) || !strings.Contains(rec.why[0], "10 failed sign-ins") {
				t.Fatalf("would-be ban reported as %s (%q)", rec.would[0], rec.why[0])
			}
			if n := rec.logLines("would ban a shared address"); n != 1 {
				t.Fatalf("%d warnings about the shared address, want 1", n)
			}

			// The same guesses from an address nobody signed in from: held
			// back, then banned at the tenth failure, as before.
			held, bannedAt := 0, 0
			for i := range 50 {
				c.Advance(3 * time.Second)
				if _, banned := s.Banned(stranger); banned {
					continue // the gateway refuses it before the shield is asked
				}
				l := Login{Addr: stranger, User: guessers[i%len(guessers)]}
				if err := s.Allow(ctx, l); err != nil {
					held++
				} else {
					s.Failed(ctx, l)
				}
				if _, banned := s.Banned(stranger); banned {
					bannedAt = i + 1
				}
			}
			if bannedAt != 10 || held == 0 {
				t.Fatalf("the stranger was banned at attempt %d (want 10) after %d held back", bannedAt, held)
			}
			if bans, would := rec.counts(); bans != 1 || would != 1 || rec.bans[0].Prefix != Key(stranger).String() || rec.bans[0].Source != "auto" {
				t.Fatalf("after the stranger: bans %+v, %d would-be bans", rec.bans, would)
			}
		})
	}
}

func TestAtAKnownAddressThrottlingIsPerUser(t *testing.T) {
	known, unknown := netip.MustParseAddr("198.51.100.30"), netip.MustParseAddr("203.0.113.30")
	fail := func(a netip.Addr, user string, n int) func(*testing.T, *Shield) {
		return func(_ *testing.T, s *Shield) {
			for range n {
				s.Failed(context.Background(), Login{Addr: a, User: user})
			}
		}
	}
	try := func(a netip.Addr, user string, n int) func(*testing.T, *Shield) {
		return func(t *testing.T, s *Shield) {
			for i := range n {
				if err := s.Allow(context.Background(), Login{Addr: a, User: user}); err != nil {
					t.Fatalf("attempt %d under the rate held back: %v", i+1, err)
				}
			}
		}
	}
	spray := func(t *testing.T, s *Shield) { // one attempt each for many made-up names
		for i := range sharedRateFactor * s.cfg.LoginsPerMinute {
			if err := s.Allow(context.Background(), Login{Addr: known, User: fmt.Sprintf("user%d", i)}); err != nil {
				t.Fatalf("attempt %d under the shared cap held back: %v", i+1, err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		prepare func(*testing.T, *Shield)
		probe   Login
		held    string // the reason, "" when let through
	}{
		{"one name's backoff spares another name", fail(known, "mallory", 4), Login{Addr: known, User: "dave"}, ""},
		{"one name's backoff holds that name", fail(known, "mallory", 4), Login{Addr: known, User: "mallory"}, "backoff"},
		{"the name folds as Jellyfin folds it", fail(known, "Mallory", 4), Login{Addr: known, User: "MALLORY"}, "backoff"},
		{"a name with a space is another name", fail(known, " mallory", 4), Login{Addr: known, User: "mallory"}, ""},
		{"the owner is not held back by others' backoff", fail(known, "mallory", 8), Login{Addr: known, User: "carol"}, ""},
		{"a success ends the user's backoff there", func(t *testing.T, s *Shield) {
			fail(known, "carol", 4)(t, s)
			s.Succeeded(Login{Addr: known, User: "carol"})
			fail(known, "carol", 1)(t, s)
		}, Login{Addr: known, User: "carol"}, ""},
		{"an unknown address backs off as a whole", fail(unknown, "mallory", 4), Login{Addr: unknown, User: "dave"}, "backoff"},
		{"one name's rate spares another name", try(known, "mallory", 20), Login{Addr: known, User: "dave"}, ""},
		{"one name's rate holds that name", try(known, "mallory", 20), Login{Addr: known, User: "mallory"}, "rate"},
		{"an unknown address's rate is the address's", try(unknown, "mallory", 20), Login{Addr: unknown, User: "dave"}, "rate"},
		{"the shared cap bounds sprayed names", spray, Login{Addr: known, User: "one-more"}, "shared address rate"},
		{"the shared cap spares the address's own users", spray, Login{Addr: known, User: "Carol"}, ""},
		{"the shared cap spares trusted browsers", spray, Login{Addr: known, User: "erin", Trusted: true}, ""},
		{"the user budget still applies at a known address", fail(known, "dave", 3), Login{Addr: known, User: "dave"}, "user budget"},
		{"the budget is not spent at the user's own address", fail(known, "carol", 3), Login{Addr: unknown, User: "carol"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newShield(t, nil)
			ctx := context.Background()
			s.Succeeded(Login{Addr: known, User: "carol"})
			tc.prepare(t, s)
			err := s.Allow(ctx, tc.probe)
			switch {
			case tc.held == "" && err != nil:
				t.Fatalf("held back: %v", err)
			case tc.held != "" && (!errors.Is(err, ErrThrottled) || !strings.HasSuffix(err.Error(), ": "+tc.held)):
				t.Fatalf("Allow = %v, want held back for %s", err, tc.held)
			}
		})
	}
}

func TestAKnownAddressIsReportedNotBanned(t *testing.T) {
	rec := &recorder{}
	s, c, _ := newShieldWith(t, nil, rec.options)
	ctx := context.Background()
	x := netip.MustParseAddr("198.51.100.40")
	s.Succeeded(Login{Addr: x, User: "carol"})
	for i := range 40 {
		s.Failed(ctx, Login{Addr: x, User: guessers[i%len(guessers)]})
		c.Advance(time.Second)
	}
	if _, banned := s.Banned(x); banned {
		t.Fatal("a known address was banned automatically")
	}
	if bans, would := rec.counts(); bans != 0 || would != 1 || s.Status().Bans != 0 {
		t.Fatalf("40 failures in one window: %d bans, %d would-be bans; want 0 and 1", bans, would)
	}
	// A new ban window: reported again.
	c.Advance(s.cfg.BanWindow)
	for range 10 {
		s.Failed(ctx, Login{Addr: x, User: "root"})
	}
	if _, would := rec.counts(); would != 2 || rec.logLines("would ban a shared address") != 2 {
		t.Fatalf("%d would-be bans after the next window, want 2", would)
	}
	// An administrator can still ban it.
	if _, err := s.Ban(ctx, Key(x), "seen enough", "admin", time.Hour); err != nil {
		t.Fatal(err)
	}
	if b, banned := s.Banned(x); !banned || b.Source != "manual" {
		t.Fatalf("a manual ban of a known address did not take: %+v", b)
	}
	// Once nobody signed in there for known_address_days, it is a stranger's.
	y := netip.MustParseAddr("198.51.100.41")
	s.Succeeded(Login{Addr: y, User: "dave"})
	c.Advance(time.Duration(s.cfg.KnownAddressDays) * 24 * time.Hour)
	if s.KnownAddress(y) || s.Known(y, "dave") {
		t.Fatal("an address stayed known past known_address_days")
	}
	for range 10 {
		s.Failed(ctx, Login{Addr: y, User: "root"})
	}
	if _, banned := s.Banned(y); !banned {
		t.Fatal("a formerly known address was not banned like a stranger's")
	}
}

func TestSharedAddressStateIsForgotten(t *testing.T) {
	s, c, st := newShield(t, nil)
	ctx := context.Background()
	x := netip.MustParseAddr("198.51.100.50")
	s.Succeeded(Login{Addr: x, User: "carol"})
	for i := range 1000 {
		s.Failed(ctx, Login{Addr: x, User: fmt.Sprintf("user%d", i)})
	}
	// budgets counts the sprayed names with failures still stored.
	budgets := func() int {
		n := 0
		for i := range 1000 {
			k, err := st.CountEvents(ctx, userFailKey(fmt.Sprintf("USER%d", i)), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
		return n
	}
	s.mu.Lock()
	streaks := len(s.streaks)
	s.mu.Unlock()
	if b := budgets(); streaks != 1000 || b != 1000 {
		t.Fatalf("held %d streaks and %d budgets, want 1000 each", streaks, b)
	}
	if stored, err := st.KnownAddresses(ctx, time.Time{}); err != nil || len(stored) != 1 || stored[0].UserFolded != "CAROL" {
		t.Fatalf("stored known addresses %+v, %v; want carol's", stored, err)
	}
	c.Advance(s.cfg.UserWindow) // longer than ban_window and the longest backoff
	s.Failed(ctx, Login{Addr: x, User: "last"})
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	streaks = len(s.streaks)
	s.mu.Unlock()
	last, err := st.CountEvents(ctx, userFailKey("LAST"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if b := budgets(); streaks != 1 || b != 0 || last != 1 {
		t.Fatalf("held %d streaks and %d+%d budgets after they went idle, want 1 and 0+1", streaks, b, last)
	}
	c.Advance(time.Duration(s.cfg.KnownAddressDays) * 24 * time.Hour)
	s.Failed(ctx, Login{Addr: x, User: "later"})
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	known, knownAddr := len(s.known), len(s.knownAddr)
	s.mu.Unlock()
	stored, err := st.KnownAddresses(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if known != 0 || knownAddr != 0 || len(stored) != 0 {
		t.Fatalf("expired known addresses kept: %d users, %d addresses, %d stored", known, knownAddr, len(stored))
	}
}

func TestUnknownUserNamesCannotBanAKnownAddressEither(t *testing.T) {
	// Quick Connect and the legacy route carry no user name; at a known
	// address they are one more name, not a reason to ban.
	rec := &recorder{}
	s, _, _ := newShieldWith(t, func(c *config.Config) { c.Shield.BanFailures = 3 }, rec.options)
	ctx := context.Background()
	x := netip.MustParseAddr("192.0.2.60")
	s.Succeeded(Login{Addr: x, User: "carol"})
	for range 9 {
		s.Failed(ctx, Login{Addr: x})
	}
	if _, banned := s.Banned(x); banned {
		t.Fatal("nameless failures banned a known address")
	}
	if err := s.Allow(ctx, Login{Addr: x, User: "carol"}); err != nil {
		t.Fatalf("carol held back by nameless failures: %v", err)
	}
	if _, would := rec.counts(); would != 1 {
		t.Fatalf("%d would-be bans, want 1", would)
	}
}
