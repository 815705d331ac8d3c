package audit

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
)

func testKeys(t *testing.T, fill byte) *secret.Keys {
	t.Helper()
	k, err := secret.FromBytes(bytes.Repeat([]byte{fill}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "jellyguard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fill records n varied events and returns the log.
func fill(t *testing.T, s store.Store, n int) *Log {
	t.Helper()
	l := New(s, testKeys(t, 1), nil)
	kinds := []Kind{SignInSuccess, SignInFailure, TokenRevoked, TokenRejected, TokenWithheld, ConfigChanged}
	for i := range n {
		ev := store.AuditEvent{Kind: kinds[i%len(kinds)], UserID: fmt.Sprintf("%032x", i%3),
			UserName: fmt.Sprint("user", i%3), IP: "192.0.2.1", Detail: fmt.Sprintf(`{"n":%d}`, i)}
		if _, err := l.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestVerifyIntactChain(t *testing.T) {
	s := openStore(t)
	l := New(s, testKeys(t, 1), nil)
	if n, err := l.Verify(t.Context()); n != 0 || err != nil {
		t.Fatalf("empty log: Verify = %d, %v", n, err)
	}
	fill(t, s, 50)
	if n, err := l.Verify(t.Context()); n != 50 || err != nil {
		t.Fatalf("Verify = %d, %v; want 50, nil", n, err)
	}
}

func TestVerifySpansPages(t *testing.T) {
	s := openStore(t)
	l := fill(t, s, verifyPage+3)
	if n, err := l.Verify(t.Context()); n != verifyPage+3 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	exec(t, s, `UPDATE audit SET detail = 'x' WHERE seq = $1`, verifyPage+2)
	assertBrokenAt(t, l, verifyPage+2)
}

func exec(t *testing.T, s *sqlite.Store, query string, args ...any) {
	t.Helper()
	if _, err := s.DB().Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func assertBrokenAt(t *testing.T, l *Log, seq int64) {
	t.Helper()
	n, err := l.Verify(t.Context())
	var ce *ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("Verify = %d, %v; want a ChainError at seq %d", n, err, seq)
	}
	if ce.Seq != seq || n != int(seq-1) {
		t.Fatalf("Verify = %d, %v; want broken at seq %d after %d good events", n, err, seq, seq-1)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("seq %d", seq)) {
		t.Fatalf("error does not name seq %d: %v", seq, err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name  string
		query string
		seq   int64
	}{
		{"edited detail", `UPDATE audit SET detail = '{"n":0}' WHERE seq = 20`, 20},
		{"edited user", `UPDATE audit SET user_name = 'mallory' WHERE seq = 7`, 7},
		{"edited user id", `UPDATE audit SET user_id = '' WHERE seq = 8`, 8},
		{"edited ip", `UPDATE audit SET ip = '203.0.113.9' WHERE seq = 9`, 9},
		{"edited kind", `UPDATE audit SET kind = 'signin.success' WHERE seq = 2`, 2},
		{"edited time", `UPDATE audit SET time = time + 1000 WHERE seq = 30`, 30},
		{"edited first event", `UPDATE audit SET detail = '' WHERE seq = 1`, 1},
		{"edited last event", `UPDATE audit SET detail = '' WHERE seq = 50`, 50},
		{"deleted middle event", `DELETE FROM audit WHERE seq = 25`, 25},
		{"deleted first event", `DELETE FROM audit WHERE seq = 1`, 1},
		{"swapped contents", `UPDATE audit SET
			(time, kind, user_id, user_name, ip, detail, prev_hash, hash) =
			(SELECT o.time, o.kind, o.user_id, o.user_name, o.ip, o.detail, o.prev_hash, o.hash
			 FROM audit o WHERE o.seq = CASE audit.seq WHEN 10 THEN 11 ELSE 10 END)
			WHERE seq IN (10, 11)`, 10},
		{"reordered by seq", `UPDATE audit SET seq = CASE seq WHEN 40 THEN -41 ELSE -40 END WHERE seq IN (40, 41);
			UPDATE audit SET seq = -seq WHERE seq < 0`, 40},
		{"inserted event", `UPDATE audit SET seq = -(seq + 1) WHERE seq >= 33;
			UPDATE audit SET seq = -seq WHERE seq < 0;
			INSERT INTO audit (seq, time, kind, user_id, user_name, ip, detail, prev_hash, hash)
			SELECT 33, time, kind, user_id, user_name, ip, 'forged', prev_hash, hash FROM audit WHERE seq = 34`, 33},
		{"appended forgery", `INSERT INTO audit (seq, time, kind, detail, prev_hash, hash)
			SELECT 51, time, kind, 'forged', hash, hash FROM audit WHERE seq = 50`, 51},
		{"relinked hash", `UPDATE audit SET prev_hash = (SELECT prev_hash FROM audit WHERE seq = 12) WHERE seq = 13`, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			l := fill(t, s, 50)
			for _, q := range strings.Split(tt.query, ";") {
				exec(t, s, q)
			}
			assertBrokenAt(t, l, tt.seq)
		})
	}
}

func TestVerifyWithOtherKeyFailsAtFirst(t *testing.T) {
	s := openStore(t)
	fill(t, s, 5)
	assertBrokenAt(t, New(s, testKeys(t, 2), nil), 1)
}

func TestRecord(t *testing.T) {
	s := openStore(t)
	var buf bytes.Buffer
	l := New(s, testKeys(t, 1), slog.New(slog.NewTextHandler(&buf, nil)))
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	ev, err := l.Record(t.Context(), store.AuditEvent{Time: at, Kind: SignInFailure, UserName: "bob\nforged=1",
		IP: "192.0.2.9", Detail: "wrong password"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 1 || len(ev.Hash) != 32 || len(ev.PrevHash) != 0 || !ev.Time.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("Record returned %+v", ev)
	}
	line := buf.String()
	for _, want := range []string{`msg="audit event"`, "seq=1", "kind=signin.failure", `user="bob\nforged=1"`, "ip=192.0.2.9"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("attacker text split the log line: %q", line)
	}
	second, err := l.Record(t.Context(), store.AuditEvent{Kind: SignInSuccess})
	if err != nil {
		t.Fatal(err)
	}
	if second.Seq != 2 || !bytes.Equal(second.PrevHash, ev.Hash) {
		t.Fatalf("second event does not link to the first: %+v", second)
	}
	if _, err := l.Record(t.Context(), store.AuditEvent{}); err == nil {
		t.Error("recorded an event without a kind")
	}
}

func TestTailAndSince(t *testing.T) {
	s := openStore(t)
	l := fill(t, s, 10)
	seqs := func(evs []store.AuditEvent, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return fmt.Sprint(out)
	}
	ctx := t.Context()
	for _, c := range []struct{ got, want string }{
		{seqs(l.Tail(ctx, 3)), "[8 9 10]"},
		{seqs(l.Tail(ctx, 20)), "[1 2 3 4 5 6 7 8 9 10]"},
		{seqs(l.Tail(ctx, 0)), "[]"},
		{seqs(l.Since(ctx, 0, 2)), "[1 2]"},
		{seqs(l.Since(ctx, 7, 0)), "[8 9 10]"},
		{seqs(l.Since(ctx, 10, 5)), "[]"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}
