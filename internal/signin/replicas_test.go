package signin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

const (
	aliceID = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	bobID   = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	qcCode  = "123456"
)

// clock is a settable clock shared by the replicas of a test.

// replicas returns two sign-in services over one database and one key
// file, each with its own connection and nothing in memory in common, as
// two gateways behind a load balancer have.
func replicas(t *testing.T, clk *testkit.Clock) (a, b *Service) {
	t.Helper()
	dir := t.TempDir()
	open := func() *Service {
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
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		return New(Options{Config: &cfg, Store: st, Keys: keys, Now: clk.Now})
	}
	return open(), open()
}

func qcSecret(n byte) string { return strings.Repeat(string("0123456789ABCDEF"[n%16]), 64) }

// redeems reports whether service s lets the Quick Connect approval of
// secret vouch for user's sign-in.
func redeems(t *testing.T, s *Service, secret, user string) bool {
	t.Helper()
	sub := &Subject{Attempt: &Attempt{Door: DoorQuickConnect, QCSecret: secret}, User: jellyfin.AuthUser{ID: user}}
	p, err := quickConnectVerifier{s}.Verify(context.Background(), sub)
	if err != nil {
		t.Fatalf("verifying a Quick Connect redemption: %v", err)
	}
	return p != nil && p.Factor == FactorQuickConnect
}

func TestQuickConnectApprovalIsSharedByReplicas(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	a, b := replicas(t, clk)
	secret := qcSecret(1)
	ip := netip.MustParseAddr("203.0.113.7")

	// The TV's request passes replica a; alice approves it through a.
	a.NoteQuickConnect(ctx, secret, qcCode)
	if redeems(t, b, secret, aliceID) {
		t.Fatal("an unapproved request vouches")
	}
	alice := tokens.Verdict{Status: tokens.Active, UserID: aliceID, UserName: "alice", Assurance: store.AssuranceTwoFactor}
	a.NoteQuickConnectAuthorized(ctx, qcCode, alice, ip)

	// The TV redeems through replica b.
	if !redeems(t, b, secret, aliceID) {
		t.Fatal("replica b does not honour the approval recorded through replica a")
	}
	if redeems(t, b, secret, bobID) {
		t.Fatal("alice's approval vouches for bob")
	}

	// Only the secret's hash is stored, with who approved it.
	r, err := b.opt.Store.QuickConnect(ctx, sha256.Sum256([]byte(secret)), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := store.QuickConnectApproval{UserID: aliceID, UserName: "alice", Assurance: store.AssuranceTwoFactor,
		IP: "203.0.113.7", At: clk.Now()}
	if got := r.Approval; !got.At.Equal(want.At) || got.UserID != want.UserID || got.UserName != want.UserName ||
		got.IsAdmin || got.Assurance != want.Assurance || got.IP != want.IP {
		t.Fatalf("approval %+v, want %+v", got, want)
	}

	// The request ends with its lifetime, on every replica.
	clk.Advance(qcLifetime)
	if redeems(t, a, secret, aliceID) || redeems(t, b, secret, aliceID) {
		t.Fatal("an expired approval vouches")
	}
}

func TestQuickConnectApprovalNeedsAVerifiedApprover(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	a, b := replicas(t, clk)
	for i, tt := range []struct {
		name  string
		by    tokens.Verdict
		user  string
		vouch bool
	}{
		{"password only", tokens.Verdict{UserID: aliceID, UserName: "alice", Assurance: store.AssurancePassword}, aliceID, false},
		{"LAN bypass", tokens.Verdict{UserID: aliceID, UserName: "alice", Assurance: store.AssuranceLAN}, aliceID, false},
		{"adopted", tokens.Verdict{UserID: aliceID, UserName: "alice", Adopted: true}, aliceID, false},
		{"an administrator for another user", tokens.Verdict{UserID: bobID, UserName: "admin", IsAdmin: true,
			Assurance: store.AssuranceTwoFactor}, aliceID, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			secret := qcSecret(byte(i + 2))
			code := "65432" + string(rune('0'+i))
			a.NoteQuickConnect(ctx, secret, code)
			tt.by.Status = tokens.Active
			a.NoteQuickConnectAuthorized(ctx, code, tt.by, netip.MustParseAddr("192.0.2.1"))
			if got := redeems(t, b, secret, tt.user); got != tt.vouch {
				t.Fatalf("vouches %v, want %v", got, tt.vouch)
			}
		})
	}
}

// TestQuickConnectApprovalGoesToTheNewestRequest: Jellyfin keeps one
// request per code, so when a code comes round again only the newest
// request with it is approved.
func TestQuickConnectApprovalGoesToTheNewestRequest(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	a, b := replicas(t, clk)
	older, newer := qcSecret(3), qcSecret(4)
	a.NoteQuickConnect(ctx, older, qcCode)
	clk.Advance(time.Minute)
	b.NoteQuickConnect(ctx, newer, qcCode)
	alice := tokens.Verdict{Status: tokens.Active, UserID: aliceID, UserName: "alice", Assurance: store.AssuranceTwoFactor}
	b.NoteQuickConnectAuthorized(ctx, qcCode, alice, netip.Addr{})
	if !redeems(t, a, newer, aliceID) {
		t.Fatal("the newest request was not approved")
	}
	if redeems(t, a, older, aliceID) {
		t.Fatal("an older request with the same code was approved too")
	}
	// Approving the code again finds no open request: nothing changes.
	bob := tokens.Verdict{Status: tokens.Active, UserID: bobID, UserName: "bob", IsAdmin: true, Assurance: store.AssuranceTwoFactor}
	a.NoteQuickConnectAuthorized(ctx, qcCode, bob, netip.Addr{})
	r, err := a.opt.Store.QuickConnect(ctx, sha256.Sum256([]byte(newer)), clk.Now())
	if err != nil || r.Approval.UserID != aliceID {
		t.Fatalf("approval %+v, %v: the first approval must stand", r.Approval, err)
	}
}

// freshSession records a session alice signed in to with her password at
// `at` and returns the client the pipeline would find for it.
func freshSession(t *testing.T, s *Service, token string, at time.Time, source Door) Client {
	t.Helper()
	return sessionOf(t, s, aliceID, "alice", token, at, source)
}

// sessionOf records a session of the user released through door source
// at `at` and returns the client the pipeline would find for it.
func sessionOf(t *testing.T, s *Service, userID, name, token string, at time.Time, source Door) Client {
	t.Helper()
	h := tokens.HashOf(token)
	st := store.Token{Hash: h, Kind: store.KindSession, UserID: userID, UserName: name, DeviceID: "dev-1",
		Client: "Jellyfin Web", DeviceName: "Firefox", Source: string(source), Assurance: store.AssurancePassword,
		Sealed: []byte{1}, CreatedAt: at, LastSeenAt: at}
	if err := s.opt.Store.PutToken(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return Client{IP: netip.MustParseAddr("198.51.100.4"), DeviceID: "dev-1",
		Session: tokens.Verdict{Hash: h, Status: tokens.Active, UserID: userID, UserName: name,
			Assurance: store.AssurancePassword, SignedInAt: at}}
}

func TestEnrollmentBegunOnOneReplicaIsConfirmedOnAnother(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	a, b := replicas(t, clk)
	c := freshSession(t, a, "0123456789abcdef0123456789abcdef", clk.Now(), DoorLogin)

	e, err := a.BeginTOTP(ctx, c, "", "")
	if err != nil {
		t.Fatalf("begin on a: %v", err)
	}
	// The pending secret is stored sealed, never in clear.
	p, err := b.opt.Store.PendingEnrollment(ctx, aliceID, clk.Now())
	if err != nil {
		t.Fatalf("pending enrollment not stored: %v", err)
	}
	if bytes.Contains(p.Sealed, []byte(e.Secret)) {
		t.Fatal("the pending secret is stored in clear")
	}
	if _, err := b.opt.Keys.Open(p.Sealed, totpAAD(aliceID)); err == nil {
		t.Fatal("a pending secret opens as a confirmed one")
	}

	clk.Advance(40 * time.Second)
	code, err := totp.Code(e.Secret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	codes, err := b.ConfirmTOTP(ctx, c, code)
	if err != nil {
		t.Fatalf("confirm on b: %v", err)
	}
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(codes))
	}
	if !a.isEnrolled(ctx, aliceID) || !b.isEnrolled(ctx, aliceID) {
		t.Fatal("not enrolled after confirming")
	}
	if _, err := a.opt.Store.PendingEnrollment(ctx, aliceID, clk.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the pending enrollment is left behind: %v", err)
	}
	if _, err := a.ConfirmTOTP(ctx, c, code); !errors.Is(err, ErrExpired) {
		t.Fatalf("confirming twice: %v, want ErrExpired", err)
	}
}

func TestEnrollmentBegunAgainReplacesTheSecretEverywhere(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	a, b := replicas(t, clk)
	c := freshSession(t, a, "0123456789abcdef0123456789abcdef", clk.Now(), DoorLogin)
	first, err := a.BeginTOTP(ctx, c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.BeginTOTP(ctx, c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := totp.Code(first.Secret, clk.Now())
	for i := 0; ; i++ { // two secrets show one code now and then: step on until they differ
		if cur, _ := totp.Code(second.Secret, clk.Now()); cur != old {
			break
		}
		if i == 10 {
			t.Fatal("the two secrets showed the same code for ten steps")
		}
		clk.Advance(30 * time.Second)
		old, _ = totp.Code(first.Secret, clk.Now())
	}
	if _, err := a.ConfirmTOTP(ctx, c, old); !errors.Is(err, ErrBadCode) {
		t.Fatalf("the replaced secret's code: %v, want ErrBadCode", err)
	}
	code, _ := totp.Code(second.Secret, clk.Now())
	if _, err := a.ConfirmTOTP(ctx, c, code); err != nil {
		t.Fatalf("the newest secret's code: %v", err)
	}
}

func TestEnrollmentExpires(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	a, b := replicas(t, clk)
	c := freshSession(t, a, "0123456789abcdef0123456789abcdef", clk.Now(), DoorLogin)
	e, err := a.BeginTOTP(ctx, c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(pendingLifetime)
	code, _ := totp.Code(e.Secret, clk.Now())
	if _, err := b.ConfirmTOTP(ctx, c, code); !errors.Is(err, ErrExpired) {
		t.Fatalf("confirming after the enrollment expired: %v, want ErrExpired", err)
	}
}
