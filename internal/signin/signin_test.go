package signin

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/factor"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
)

func TestKindOfTellsCodesByShape(t *testing.T) {
	for code, want := range map[string]factor.CodeKind{
		"123456": factor.CodeTOTP, "ABCDE-FGHJK": factor.CodeRecovery, "abcde fghjk": factor.CodeRecovery,
		"12345": factor.CodeNone, "1234567": factor.CodeNone, "": factor.CodeNone, "12345;": factor.CodeNone,
	} {
		if got := kindOf(code); got != want {
			t.Errorf("kindOf(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestWhoNeedsASecondFactor(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	type row struct {
		name     string
		global   string
		admin    bool
		enrolled bool
		req      store.Requirement
		seen     time.Duration // how long ago the account was first seen
		required bool
		grace    bool
	}
	rows := []row{
		{"nobody asked", "none", false, false, store.RequireDefault, 0, false, false},
		{"enrolled user", "none", false, true, store.RequireDefault, 0, true, false},
		{"exempt even if enrolled", "all", true, true, store.RequireNever, 0, false, false},
		{"required by the admin", "none", false, false, store.RequireAlways, time.Hour, true, true},
		{"all: new user in grace", "all", false, false, store.RequireDefault, time.Hour, true, true},
		{"all: grace over", "all", false, false, store.RequireDefault, 8 * 24 * time.Hour, true, false},
		{"admins: an admin", "admins", true, false, store.RequireDefault, time.Hour, true, true},
		{"admins: not an admin", "admins", false, false, store.RequireDefault, time.Hour, false, false},
	}
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			s := newTestService(t, r.global, now)
			uid := string(rune('a'+i)) + "0000000000000000000000000000000"
			acct := store.Account{UserID: uid, UserName: r.name, NameFolded: Fold(r.name), Requirement: r.req,
				FirstSeenAt: now.Add(-r.seen), UpdatedAt: now}
			if err := s.opt.Store.PutAccount(ctx, acct); err != nil {
				t.Fatal(err)
			}
			if r.enrolled {
				sealed, _ := s.opt.Keys.Seal([]byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), totpAAD(uid))
				if err := s.opt.Store.PutTOTP(ctx, store.TOTP{UserID: uid, Sealed: sealed, Confirmed: true, CreatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			n := s.needOf(ctx, uid, r.admin)
			if n.required != r.required || n.grace != r.grace || n.enrolled != r.enrolled {
				t.Fatalf("need %+v, want required=%v grace=%v", n, r.required, r.grace)
			}
		})
	}
}

func newTestService(t *testing.T, require string, now time.Time) *Service {
	t.Helper()
	dir := t.TempDir()
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "jellyguard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := config.Default()
	cfg.TwoFactor.Require = require
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(Options{Config: &cfg, Store: st, Keys: keys, Now: func() time.Time { return now }})
}
