package signin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// issuedTap records the tokens Jellyfin's sign-in answers carry, by the
// DeviceId of the request.
type issuedTap struct {
	mu       sync.Mutex
	byDevice map[string][]string
	next     http.Handler
}

func (tp *issuedTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(strings.ToLower(r.URL.Path), "/authenticatebyname") {
		tp.next.ServeHTTP(w, r)
		return
	}
	r.Header.Del("Accept-Encoding") // a compressed answer could not be read here
	rec := httptest.NewRecorder()
	tp.next.ServeHTTP(rec, r)
	var res struct{ AccessToken string }
	if json.Unmarshal(rec.Body.Bytes(), &res) == nil && res.AccessToken != "" {
		dev := jellyfin.ParseRequest(r.Header, "", jellyfin.DefaultDialect()).DeviceID
		tp.mu.Lock()
		tp.byDevice[dev] = append(tp.byDevice[dev], res.AccessToken)
		tp.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (tp *issuedTap) forDevice(id string) []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.byDevice[id]...)
}

// withJellyfin is a sign-in service over a Jellyfin emulator with the
// users alice and bob.
type withJellyfin struct {
	svc    *Service
	jf     *fake.Server
	tap    *issuedTap
	clk    *testkit.Clock
	alice  fake.UserInfo
	bob    fake.UserInfo
	client *jellyfin.Client
}

func newWithJellyfin(t *testing.T) *withJellyfin {
	t.Helper()
	w := &withJellyfin{clk: testkit.NewClock(time.Now()), jf: fake.New(fake.Options{})}
	w.alice = w.jf.AddUser("alice", "alice-password", false)
	w.bob = w.jf.AddUser("bob", "bob-password", false)
	w.tap = &issuedTap{byDevice: map[string][]string{}, next: w.jf}
	srv := httptest.NewServer(w.tap)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	w.client = jellyfin.NewClient(u, "", nil)
	a, _ := replicas(t, w.clk)
	a.opt.Jellyfin = w.client
	w.svc = a
	return w
}

// signIn signs alice in at Jellyfin as the browser with device id dev and
// returns the token.
func (w *withJellyfin) signIn(t *testing.T, user, password, dev string) string {
	t.Helper()
	res, err := w.client.AuthenticateByName(context.Background(), user, password,
		jellyfin.Identity{Client: "Jellyfin Web", Device: "Firefox", DeviceID: dev, Version: "10.11.11"}, "")
	if err != nil {
		t.Fatalf("signing %s in: %v", user, err)
	}
	return res.AccessToken
}

func (w *withJellyfin) checks() int { return w.jf.Requests("/users/authenticatebyname") }

func pending(t *testing.T, s *Service, userID string) bool {
	t.Helper()
	_, err := s.opt.Store.PendingEnrollment(context.Background(), userID, s.now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestFirstAuthenticatorNeedsARecentSignInOrThePassword(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		age    time.Duration
		source Door
		adopt  bool
		ok     bool
	}{
		{"signed in a minute ago", time.Minute, DoorLogin, false, true},
		{"signed in on the sign-in page", time.Minute, DoorPage, false, true},
		{"signed in through the legacy route", time.Minute, DoorLegacy, false, true},
		{"signed in just under the window", passwordFresh - time.Second, DoorLogin, false, true},
		{"signed in at the window", passwordFresh, DoorLogin, false, false},
		{"signed in an hour ago", time.Hour, DoorLogin, false, false},
		{"signed in with Quick Connect", time.Minute, DoorQuickConnect, false, false},
		{"adopted", time.Minute, DoorLogin, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWithJellyfin(t)
			token := w.signIn(t, "alice", "alice-password", "dev-1")
			c := sessionOf(t, w.svc, w.alice.ID, "alice", token, w.clk.Now().Add(-tt.age), tt.source)
			if tt.adopt {
				c.Session.SignedInAt, c.Session.Adopted = time.Time{}, true
			}
			before := w.checks()
			_, err := w.svc.BeginTOTP(ctx, c, "", "")
			if tt.ok && err != nil {
				t.Fatalf("begin: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrPasswordRequired) {
				t.Fatalf("begin: %v, want ErrPasswordRequired", err)
			}
			if pending(t, w.svc, w.alice.ID) != tt.ok {
				t.Fatalf("pending enrollment stored: %v, want %v", !tt.ok, tt.ok)
			}
			if w.checks() != before {
				t.Fatal("Jellyfin was asked without a password")
			}
		})
	}
}

// TestTheStoredSignInTimeDecides: the session's record, which every
// replica shares, says when it signed in; a newer time in one replica's
// memory does not make it fresh.
func TestTheStoredSignInTimeDecides(t *testing.T) {
	w := newWithJellyfin(t)
	token := w.signIn(t, "alice", "alice-password", "dev-1")
	c := sessionOf(t, w.svc, w.alice.ID, "alice", token, w.clk.Now().Add(-time.Hour), DoorLogin)
	c.Session.SignedInAt = w.clk.Now()
	if _, err := w.svc.BeginTOTP(context.Background(), c, "", ""); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("begin: %v, want ErrPasswordRequired", err)
	}
}

func TestFirstAuthenticatorWithThePassword(t *testing.T) {
	ctx := context.Background()
	w := newWithJellyfin(t)
	token := w.signIn(t, "alice", "alice-password", "dev-1")
	c := sessionOf(t, w.svc, w.alice.ID, "alice", token, w.clk.Now().Add(-time.Hour), DoorLogin)
	dev := PasswordCheckDevice(tokens.HashOf(token))

	if _, err := w.svc.BeginTOTP(ctx, c, "", "not-her-password"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("wrong password: %v, want ErrBadPassword", err)
	}
	if pending(t, w.svc, w.alice.ID) {
		t.Fatal("a wrong password began an enrollment")
	}
	if len(w.tap.forDevice(dev)) != 0 {
		t.Fatal("Jellyfin issued a token for a wrong password")
	}

	e, err := w.svc.BeginTOTP(ctx, c, "", "alice-password")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if e.Secret == "" || !pending(t, w.svc, w.alice.ID) {
		t.Fatal("no enrollment begun")
	}
	issued := w.tap.forDevice(dev)
	if len(issued) != 1 {
		t.Fatalf("the password check signed in %d times under %q", len(issued), dev)
	}
	if w.jf.TokenValid(issued[0]) {
		t.Fatal("the session the password check opened is still valid in Jellyfin")
	}
	for _, s := range w.jf.Sessions() {
		if s.DeviceID == dev {
			t.Fatalf("the password check left a session behind: %+v", s)
		}
	}
	if !w.jf.TokenValid(token) {
		t.Fatal("the password check ended the session that asked")
	}
}

// TestPasswordOfTheSessionsUserOnly: the check is of the session's user,
// by id: a name that now belongs to someone else does not pass with that
// someone's password.
func TestPasswordOfTheSessionsUserOnly(t *testing.T) {
	w := newWithJellyfin(t)
	token := w.signIn(t, "alice", "alice-password", "dev-1")
	c := sessionOf(t, w.svc, w.alice.ID, "bob", token, w.clk.Now().Add(-time.Hour), DoorLogin)
	if _, err := w.svc.BeginTOTP(context.Background(), c, "", "bob-password"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("begin: %v, want ErrBadPassword", err)
	}
	for _, tok := range w.tap.forDevice(PasswordCheckDevice(tokens.HashOf(token))) {
		if w.jf.TokenValid(tok) {
			t.Fatal("the session the check opened for bob is still valid")
		}
	}
}

func TestPasswordIsNoCurrentCode(t *testing.T) {
	ctx := context.Background()
	w := newWithJellyfin(t)
	token := w.signIn(t, "alice", "alice-password", "dev-1")
	c := sessionOf(t, w.svc, w.alice.ID, "alice", token, w.clk.Now(), DoorLogin)
	sealed, err := w.svc.opt.Keys.Seal([]byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), totpAAD(w.alice.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.opt.Store.PutTOTP(ctx, store.TOTP{UserID: w.alice.ID, Sealed: sealed, Confirmed: true, CreatedAt: w.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.BeginTOTP(ctx, c, "", "alice-password"); !errors.Is(err, ErrCodeRequired) {
		t.Fatalf("re-enrolling with the password: %v, want ErrCodeRequired", err)
	}
	if w.checks() != 1 {
		t.Fatal("re-enrolling asked Jellyfin about the password")
	}
}

func TestPasswordGuessesAreThrottled(t *testing.T) {
	ctx := context.Background()
	w := newWithJellyfin(t)
	token := w.signIn(t, "alice", "alice-password", "dev-1")
	c := sessionOf(t, w.svc, w.alice.ID, "alice", token, w.clk.Now().Add(-time.Hour), DoorLogin)
	var err error
	for i := 0; i < 20 && !errors.Is(err, ErrThrottled); i++ {
		_, err = w.svc.BeginTOTP(ctx, c, "", "guess-"+string(rune('a'+i)))
		if err != nil && !errors.Is(err, ErrBadPassword) && !errors.Is(err, ErrThrottled) {
			t.Fatal(err)
		}
	}
	if !errors.Is(err, ErrThrottled) {
		t.Fatal("twenty wrong passwords in a row were all asked of Jellyfin")
	}
	asked := w.checks()
	if _, err := w.svc.BeginTOTP(ctx, c, "", "alice-password"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after the limit: %v, want ErrThrottled", err)
	}
	if w.checks() != asked {
		t.Fatal("a throttled check reached Jellyfin")
	}
}
