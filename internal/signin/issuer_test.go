package signin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

// namedJellyfin answers /System/Info/Public with a server name that can
// change, or fails while down, and counts the questions.
type namedJellyfin struct {
	mu    sync.Mutex
	name  string
	down  bool
	asked int
}

func (n *namedJellyfin) set(name string, down bool) {
	n.mu.Lock()
	n.name, n.down = name, down
	n.mu.Unlock()
}

func (n *namedJellyfin) questions() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.asked
}

func (n *namedJellyfin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.asked++
	if n.down || !strings.EqualFold(r.URL.Path, "/System/Info/Public") {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"ServerName": n.name, "Id": "0123456789abcdef0123456789abcdef"})
}

func withNamedJellyfin(t *testing.T, name string) (*Service, *namedJellyfin, *testkit.Clock) {
	t.Helper()
	jf := &namedJellyfin{name: name}
	srv := httptest.NewServer(jf)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(time.Now())
	s, _ := replicas(t, clk)
	s.tf.Issuer = ""
	s.opt.Jellyfin = jellyfin.NewClient(u, "", nil)
	return s, jf, clk
}

// TestIssuerIsJellyfinsServerName: with two_factor.issuer empty (the
// default), authenticator apps list the account under the name people call
// their server, not "jellyguard". The name is asked once in a while, a
// colon in it cannot split the otpauth label, and a Jellyfin that cannot
// be asked leaves "Jellyfin" (or the last name it gave).
func TestIssuerIsJellyfinsServerName(t *testing.T) {
	ctx := context.Background()
	s, jf, clk := withNamedJellyfin(t, "Living Room: Movies")
	if got := s.issuer(ctx); got != "Living Room Movies" {
		t.Fatalf("issuer %q, want the server name without its colon", got)
	}
	jf.set("Den", false)
	if got := s.issuer(ctx); got != "Living Room Movies" || jf.questions() != 1 {
		t.Fatalf("issuer %q after %d questions, want the remembered name after 1", got, jf.questions())
	}
	clk.Advance(issuerFresh)
	if got := s.issuer(ctx); got != "Den" {
		t.Fatalf("issuer %q after a rename, want Den", got)
	}

	// Down after a name was known: the last name stays.
	jf.set("Attic", true)
	clk.Advance(issuerFresh)
	if got := s.issuer(ctx); got != "Den" {
		t.Fatalf("issuer %q with Jellyfin down, want the last name it gave", got)
	}

	// Down from the start: "Jellyfin", asked again soon.
	s, jf, clk = withNamedJellyfin(t, "")
	jf.set("Attic", true)
	if got := s.issuer(ctx); got != DefaultIssuer {
		t.Fatalf("issuer %q with Jellyfin unreachable, want %q", got, DefaultIssuer)
	}
	jf.set("Attic", false)
	if got := s.issuer(ctx); got != DefaultIssuer {
		t.Fatalf("issuer %q right after a failed lookup, want %q until the retry", got, DefaultIssuer)
	}
	clk.Advance(issuerRetry)
	if got := s.issuer(ctx); got != "Attic" {
		t.Fatalf("issuer %q after the retry, want Attic", got)
	}

	// An empty server name is no name.
	s, _, _ = withNamedJellyfin(t, " \t")
	if got := s.issuer(ctx); got != DefaultIssuer {
		t.Fatalf("issuer %q for a blank server name, want %q", got, DefaultIssuer)
	}
}

// TestExplicitIssuerWins: a configured two_factor.issuer is used as it is
// and Jellyfin is not asked.
func TestExplicitIssuerWins(t *testing.T) {
	s, jf, _ := withNamedJellyfin(t, "Den")
	s.tf.Issuer = "Family Media"
	if got := s.issuer(context.Background()); got != "Family Media" || jf.questions() != 0 {
		t.Fatalf("issuer %q after %d questions, want Family Media without asking", got, jf.questions())
	}
}

// TestEnrollmentsUseTheIssuer: the Setup page's enrollment and the command
// line's both name the account under the issuer, and the page is told
// which name that is.
func TestEnrollmentsUseTheIssuer(t *testing.T) {
	ctx := context.Background()
	w := newWithJellyfin(t)
	w.svc.tf.Issuer = ""
	token := w.signIn(t, "alice", "alice-password", "dev-1")
	c := sessionOf(t, w.svc, w.alice.ID, "alice", token, w.clk.Now(), DoorLogin)
	e, err := w.svc.BeginTOTP(ctx, c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if e.Issuer != "Jellyfin Emulator" || !strings.HasPrefix(e.URI, "otpauth://totp/Jellyfin%20Emulator:alice?") ||
		!strings.Contains(e.URI, "&issuer=Jellyfin%20Emulator&") {
		t.Errorf("Setup enrollment: issuer %q, URI %s; want the emulator's server name", e.Issuer, e.URI)
	}
	cli, err := w.svc.EnrollFromCLI(ctx, store.Account{UserID: w.bob.ID, UserName: "bob", NameFolded: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cli.URI, "&issuer=Jellyfin%20Emulator&") {
		t.Errorf("command-line enrollment URI %s, want the emulator's server name as issuer", cli.URI)
	}
}
