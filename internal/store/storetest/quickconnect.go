package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func runQuickConnect(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testQuickConnectRoundTrip(t, open(t)) })
	t.Run("Replace", func(t *testing.T) { testQuickConnectReplace(t, open(t)) })
	t.Run("Authorize", func(t *testing.T) { testAuthorizeQuickConnect(t, open) })
	t.Run("AuthorizeDefaultsTime", func(t *testing.T) { testAuthorizeQuickConnectDefaultsTime(t, open(t)) })
	t.Run("AuthorizeOnce", func(t *testing.T) { testAuthorizeQuickConnectOnce(t, open) })
	t.Run("DeleteExpired", func(t *testing.T) { testDeleteExpiredQuickConnect(t, open(t)) })
	t.Run("PutDropsExpired", func(t *testing.T) { testPutQuickConnectDropsExpired(t, open(t)) })
	t.Run("Bound", func(t *testing.T) { testQuickConnectBound(t, open(t)) })
}

// qcRequest is an open request named name (its secret), created at
// created and living ten minutes.
func qcRequest(name, code string, created time.Time) store.QuickConnectRequest {
	return store.QuickConnectRequest{
		SecretHash: hashOf(name), Code: code, CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute),
	}
}

func approval(name string, at time.Time) store.QuickConnectApproval {
	return store.QuickConnectApproval{
		UserID: "id-" + name, UserName: name, IsAdmin: true, Assurance: store.AssuranceTwoFactor, IP: "192.0.2.7", At: at,
	}
}

func normQC(r store.QuickConnectRequest) store.QuickConnectRequest {
	r.CreatedAt, r.ExpiresAt, r.Approval.At = utc(r.CreatedAt), utc(r.ExpiresAt), utc(r.Approval.At)
	return r
}

func putQC(t *testing.T, s store.Store, reqs ...store.QuickConnectRequest) {
	t.Helper()
	for _, r := range reqs {
		must(t, s.PutQuickConnect(t.Context(), r))
	}
}

func testQuickConnectRoundTrip(t *testing.T, s store.Store) {
	open := qcRequest("secret-a", "123456", t0)
	done := qcRequest("secret-b", "654321", t0.Add(time.Minute))
	done.Approval = approval("alice", t0.Add(2*time.Minute))
	done.Approval.IsAdmin, done.Approval.Assurance = false, store.AssurancePhishingResistant
	putQC(t, s, open, done)
	if open.Authorized() || !done.Approval.At.After(t0) || !done.Authorized() {
		t.Fatal("Authorized does not follow Approval.At")
	}

	for _, want := range []store.QuickConnectRequest{open, done} {
		got, err := s.QuickConnect(t.Context(), want.SecretHash, t0)
		must(t, err)
		mustEqual(t, "request "+want.Code, got, want, normQC)
		if got.Authorized() != want.Authorized() {
			t.Fatalf("request %s: Authorized = %v", want.Code, got.Authorized())
		}
	}
	_, err := s.QuickConnect(t.Context(), hashOf("secret-c"), t0)
	mustNotFound(t, "unknown secret", err)
	_, err = s.QuickConnect(t.Context(), hashOf("123456"), t0)
	mustNotFound(t, "looked up by the code", err)

	tests := []struct {
		name  string
		now   time.Time
		found bool
	}{
		{"at creation", open.CreatedAt, true},
		{"before creation", open.CreatedAt.Add(-time.Hour), true},
		{"just before expiry", open.ExpiresAt.Add(-us), true},
		{"at expiry", open.ExpiresAt, false},
		{"after expiry", open.ExpiresAt.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.QuickConnect(t.Context(), open.SecretHash, tt.now)
			if !tt.found {
				mustNotFound(t, "expired request", err)
				return
			}
			must(t, err)
			mustEqual(t, "request", got, open, normQC)
		})
	}
}

func testQuickConnectReplace(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := qcRequest("secret-a", "111111", t0)
	putQC(t, s, r)
	ok, err := s.AuthorizeQuickConnect(ctx, "111111", approval("alice", t0.Add(time.Minute)), t0.Add(time.Minute))
	must(t, err)
	if !ok {
		t.Fatal("AuthorizeQuickConnect of an open request = false")
	}

	// Replacing replaces every field, the approval included.
	r2 := qcRequest("secret-a", "222222", t0.Add(2*time.Minute))
	putQC(t, s, r2)
	got, err := s.QuickConnect(ctx, r.SecretHash, t0.Add(2*time.Minute))
	must(t, err)
	mustEqual(t, "replaced request", got, r2, normQC)
	if got.Authorized() {
		t.Fatal("a replaced request kept its approval")
	}
	ok, err = s.AuthorizeQuickConnect(ctx, "111111", approval("mallory", t0.Add(3*time.Minute)), t0.Add(3*time.Minute))
	must(t, err)
	if ok {
		t.Fatal("the replaced request's old code can still be authorised")
	}
}

func testAuthorizeQuickConnect(t *testing.T, open func(t *testing.T) store.Store) {
	// Requests by name; the code "111111" is shared by several.
	oldest := qcRequest("oldest", "111111", t0)
	newer := qcRequest("newer", "111111", t0.Add(time.Minute))
	newest := qcRequest("newest", "111111", t0.Add(2*time.Minute))
	newest.ExpiresAt = t0.Add(3 * time.Minute) // expires before the others
	other := qcRequest("other", "222222", t0.Add(4*time.Minute))
	done := qcRequest("done", "111111", t0.Add(5*time.Minute))
	done.Approval = approval("bob", t0.Add(6*time.Minute))

	tests := []struct {
		name   string
		reqs   []store.QuickConnectRequest
		code   string
		now    time.Time
		want   bool
		marked string // the request authorised by the call; "" when none
	}{
		{"unknown code", []store.QuickConnectRequest{oldest, other}, "333333", t0.Add(5 * time.Minute), false, ""},
		{"one request", []store.QuickConnectRequest{oldest, other}, "111111", t0.Add(5 * time.Minute), true, "oldest"},
		{"newest of two", []store.QuickConnectRequest{oldest, newer, other}, "111111", t0.Add(2 * time.Minute), true, "newer"},
		{"newest unexpired", []store.QuickConnectRequest{oldest, newer, newest}, "111111", t0.Add(3 * time.Minute), true, "newer"},
		{"newest before it expires", []store.QuickConnectRequest{oldest, newer, newest}, "111111", t0.Add(3*time.Minute - us), true, "newest"},
		{"newest not yet authorised", []store.QuickConnectRequest{oldest, done}, "111111", t0.Add(7 * time.Minute), true, "oldest"},
		{"only authorised ones", []store.QuickConnectRequest{done, other}, "111111", t0.Add(7 * time.Minute), false, ""},
		{"at expiry", []store.QuickConnectRequest{oldest}, "111111", oldest.ExpiresAt, false, ""},
		{"after expiry", []store.QuickConnectRequest{oldest, newer}, "111111", t0.Add(time.Hour), false, ""},
		{"other code", []store.QuickConnectRequest{oldest, other}, "222222", t0.Add(5 * time.Minute), true, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			putQC(t, s, tt.reqs...)
			by := approval("alice", tt.now)
			ok, err := s.AuthorizeQuickConnect(t.Context(), tt.code, by, tt.now)
			must(t, err)
			if ok != tt.want {
				t.Fatalf("AuthorizeQuickConnect = %v, want %v", ok, tt.want)
			}
			for _, r := range tt.reqs {
				want := r
				if tt.marked != "" && hashOf(tt.marked) == r.SecretHash {
					want.Approval = by
				}
				got, err := s.QuickConnect(t.Context(), r.SecretHash, t0)
				must(t, err)
				mustEqual(t, "request with code "+r.Code, got, want, normQC)
			}
		})
	}
}

func testAuthorizeQuickConnectDefaultsTime(t *testing.T, s store.Store) {
	r := qcRequest("secret-a", "111111", t0)
	putQC(t, s, r)
	now := t0.Add(time.Minute)
	by := approval("alice", time.Time{})
	ok, err := s.AuthorizeQuickConnect(t.Context(), "111111", by, now)
	must(t, err)
	if !ok {
		t.Fatal("AuthorizeQuickConnect = false")
	}
	got, err := s.QuickConnect(t.Context(), r.SecretHash, now)
	must(t, err)
	if !got.Approval.At.Equal(now) || !got.Authorized() {
		t.Fatalf("approval without a time dated %v, want %v", got.Approval.At, now)
	}
}

// testAuthorizeQuickConnectOnce authorises one code from many goroutines:
// each open request is authorised by exactly one of them, and the approval
// stored is the winner's.
func testAuthorizeQuickConnectOnce(t *testing.T, open func(t *testing.T) store.Store) {
	for _, nOpen := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(nOpen, " open"), func(t *testing.T) {
			s := open(t)
			var reqs []store.QuickConnectRequest
			for i := range nOpen {
				reqs = append(reqs, qcRequest(fmt.Sprint("secret-", i), "111111", t0.Add(time.Duration(i)*time.Second)))
			}
			putQC(t, s, reqs...)
			now := t0.Add(time.Minute)
			winners := make([]bool, 20)
			wins := race(t, len(winners), func(ctx context.Context, i int) (bool, error) {
				ok, err := s.AuthorizeQuickConnect(ctx, "111111", approval(fmt.Sprint("user", i), now), now)
				winners[i] = ok
				return ok, err
			})
			if wins != nOpen {
				t.Fatalf("%d calls authorised %d open requests, want one each", wins, nOpen)
			}
			seen := map[string]bool{}
			for _, r := range reqs {
				got, err := s.QuickConnect(t.Context(), r.SecretHash, now)
				must(t, err)
				var i int
				if _, err := fmt.Sscanf(got.Approval.UserName, "user%d", &i); err != nil || !winners[i] || seen[got.Approval.UserName] {
					t.Fatalf("request %x approved by %q, not by one distinct winner", r.SecretHash[:4], got.Approval.UserName)
				}
				seen[got.Approval.UserName] = true
			}
		})
	}
}

func testDeleteExpiredQuickConnect(t *testing.T, s store.Store) {
	ctx := t.Context()
	reqs := make([]store.QuickConnectRequest, 3)
	for i := range reqs {
		reqs[i] = qcRequest(fmt.Sprint("secret-", i), fmt.Sprint(100000+i), t0)
		reqs[i].ExpiresAt = t0.Add(time.Duration(i+1) * time.Minute)
	}
	putQC(t, s, reqs...)
	steps := []struct {
		now     time.Time
		deleted int
		left    string // which requests remain, by index
	}{
		{t0, 0, "[0 1 2]"},
		{t0.Add(time.Minute - us), 0, "[0 1 2]"},
		{t0.Add(2 * time.Minute), 2, "[2]"}, // ExpiresAt == now is expired
		{t0.Add(2 * time.Minute), 0, "[2]"},
		{t0.Add(time.Hour), 1, "[]"},
	}
	for _, st := range steps {
		n, err := s.DeleteExpiredQuickConnect(ctx, st.now)
		must(t, err)
		left := []int{}
		for i, r := range reqs {
			// Looked up before any expiry: absent means deleted.
			if _, err := s.QuickConnect(ctx, r.SecretHash, t0); err == nil {
				left = append(left, i)
			}
		}
		if n != st.deleted || fmt.Sprint(left) != st.left {
			t.Fatalf("DeleteExpiredQuickConnect(%v) = %d leaving %v, want %d leaving %s",
				st.now, n, left, st.deleted, st.left)
		}
	}
}

func testPutQuickConnectDropsExpired(t *testing.T, s store.Store) {
	old := qcRequest("old", "111111", t0)
	putQC(t, s, old, qcRequest("new", "222222", old.ExpiresAt))
	_, err := s.QuickConnect(t.Context(), old.SecretHash, t0)
	mustNotFound(t, "request expired before a new one was stored", err)
}

// testQuickConnectBound opens more requests than the store keeps: the
// oldest not yet authorised make room, and an authorised one survives. It
// stores more than store.MaxQuickConnectRequests requests one transaction
// at a time (tens of seconds under the race detector).
func testQuickConnectBound(t *testing.T, s store.Store) {
	ctx := t.Context()
	kept := qcRequest("authorised", "000000", t0)
	putQC(t, s, kept)
	ok, err := s.AuthorizeQuickConnect(ctx, kept.Code, approval("alice", t0), t0)
	if err != nil || !ok {
		t.Fatalf("AuthorizeQuickConnect = %v, %v", ok, err)
	}
	const extra = 3
	n := store.MaxQuickConnectRequests + extra // with kept: extra+1 too many
	for i := range n {
		r := qcRequest(fmt.Sprint("flood-", i), fmt.Sprintf("%06d", i), t0.Add(time.Duration(i+1)*us))
		if err := s.PutQuickConnect(ctx, r); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got, err := s.QuickConnect(ctx, kept.SecretHash, t0); err != nil || !got.Authorized() {
		t.Fatalf("authorised request after the flood = %+v, %v", got, err)
	}
	// The extra+1 oldest of the flood made room; the next one, one from
	// the middle and the newest are still there.
	for _, i := range []int{0, extra / 2, extra, extra + 1, n / 2, n - 1} {
		_, err := s.QuickConnect(ctx, hashOf(fmt.Sprint("flood-", i)), t0)
		if i <= extra {
			mustNotFound(t, fmt.Sprint("request ", i, " of the flood"), err)
		} else if err != nil {
			t.Fatalf("request %d of the flood: %v", i, err)
		}
	}
}
