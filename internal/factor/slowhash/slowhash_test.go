package slowhash

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

// cheap keeps tests that are not about cost fast.
var cheap = params{memory: 64, time: 1, threads: 1}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := New(2)
	phc, err := h.Hash(ctx, "k", "ABCDE-FGHJK")
	if err != nil {
		t.Fatal(err)
	}
	if !phcRE.MatchString(phc) {
		t.Errorf("hash %q is not in the expected PHC form", phc)
	}
	ok, err := h.Verify(ctx, "k", "ABCDE-FGHJK", phc)
	if err != nil || !ok {
		t.Errorf("Verify(right secret) = %v, %v", ok, err)
	}
	for _, wrong := range []string{"ABCDE-FGHJM", "abcde-fghjk", "", "ABCDE-FGHJK "} {
		ok, err := h.Verify(ctx, "k", wrong, phc)
		if err != nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
	again, err := h.Hash(ctx, "k", "ABCDE-FGHJK")
	if err != nil {
		t.Fatal(err)
	}
	if again == phc {
		t.Error("two hashes of the same secret are equal: salt not random")
	}
}

func TestEmptyAndLongSecrets(t *testing.T) {
	ctx := context.Background()
	h := newHasher(1, DefaultQueuePerKey, cheap)
	for _, s := range []string{"", strings.Repeat("x", 10000), "pässwörd;日本"} {
		phc, err := h.Hash(ctx, "k", s)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.Verify(ctx, "k", s, phc); !ok || err != nil {
			t.Errorf("Verify(%.10q) = %v, %v", s, ok, err)
		}
	}
}

func TestTampered(t *testing.T) {
	ctx := context.Background()
	h := newHasher(1, DefaultQueuePerKey, cheap)
	phc, err := h.Hash(ctx, "k", "secret")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(phc, "$")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	join := func(f []string) string { return strings.Join(f, "$") }
	with := func(i int, v string) string {
		f := slices.Clone(fields)
		f[i] = v
		return join(f)
	}
	for name, bad := range map[string]string{
		"hash first char": with(5, flip(fields[5], 0)),
		"hash mid char":   with(5, flip(fields[5], 20)),
		"salt first char": with(4, flip(fields[4], 0)),
		"memory":          with(3, "m=72,t=1,p=1"),
		"time":            with(3, "m=64,t=2,p=1"),
		"threads":         with(3, "m=64,t=1,p=2"),
		"hash shortened":  with(5, fields[5][:len(fields[5])-4]),
	} {
		ok, err := h.Verify(ctx, "k", "secret", bad)
		if ok {
			t.Errorf("%s: tampered hash %q verified", name, bad)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v does not wrap ErrMalformed", name, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	ctx := context.Background()
	h := newHasher(1, DefaultQueuePerKey, cheap)
	good, err := h.Hash(ctx, "k", "secret")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	salt, key := f[4], f[5]
	for _, tc := range []struct{ name, phc string }{
		{"empty", ""},
		{"dollar", "$"},
		{"no leading dollar", strings.TrimPrefix(good, "$")},
		{"extra field", good + "$x"},
		{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"upper case algorithm", "$ARGON2ID$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"version missing", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"version not a number", "$argon2id$v=x$m=64,t=1,p=1$" + salt + "$" + key},
		{"params reordered", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"params missing p", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"params extra", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key},
		{"params empty value", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"params signed", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"params negative", "$argon2id$v=19$m=64,t=-1,p=1$" + salt + "$" + key},
		{"params spaces", "$argon2id$v=19$m=64, t=1,p=1$" + salt + "$" + key},
		{"time zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"threads zero", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"memory below 8 per lane", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{"memory huge", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key},
		{"memory overflows uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"time huge", "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key},
		{"threads 256", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$AAAA$" + key},
		{"salt empty", "$argon2id$v=19$m=64,t=1,p=1$$" + key},
		{"hash not base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:40] + "*"},
		{"hash too short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAAAAAA"},
		{"hash too long", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 100)},
		{"hash url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("_", 43)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, "k", "secret", tc.phc)
			if ok || !errors.Is(err, ErrMalformed) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", tc.phc, ok, err)
			}
		})
	}
}

func TestParamsReadFromString(t *testing.T) {
	ctx := context.Background()
	old := newHasher(1, DefaultQueuePerKey, params{memory: 8192, time: 1, threads: 2})
	phc, err := old.Hash(ctx, "k", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=8192,t=1,p=2$") {
		t.Fatalf("hash %q does not carry its parameters", phc)
	}
	d, err := parse(phc)
	if err != nil {
		t.Fatal(err)
	}
	if d.p != (params{memory: 8192, time: 1, threads: 2}) || len(d.salt) != saltLen || len(d.key) != keyLen {
		t.Errorf("parsed %+v", d)
	}
	// A Hasher with other defaults still checks it.
	if ok, err := New(1).Verify(ctx, "k", "secret", phc); !ok || err != nil {
		t.Errorf("Verify with other defaults = %v, %v", ok, err)
	}
}

// knownVectors come from the argon2 reference implementation's command line
// (echo -n <secret> | argon2 <salt> -id -t <t> -k <m> -p <p> -l 32 -e), so
// the format and the hash agree with other argon2id implementations.
var knownVectors = []struct{ secret, phc string }{
	{"password", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM"},
	{"ABCDE-FGHJK", "$argon2id$v=19$m=19456,t=2,p=1$amVsbHlndWFyZHNhbHQxNg$xymvUjNx1PVwA9SFYwgziNXpHWOm0gKduo/2uFPwByE"},
}

func TestKnownVectors(t *testing.T) {
	h := New(1)
	for _, v := range knownVectors {
		d, err := parse(v.phc)
		if err != nil {
			t.Fatal(err)
		}
		if got := format(d.p, d.salt, d.key); got != v.phc {
			t.Errorf("format(parse(x)) = %q, want %q", got, v.phc)
		}
		ok, err := h.Verify(context.Background(), "k", v.secret, v.phc)
		if err != nil || !ok {
			t.Errorf("Verify(%q, %q) = %v, %v", v.secret, v.phc, ok, err)
		}
		ok, err = h.Verify(context.Background(), "k", v.secret+"x", v.phc)
		if err != nil || ok {
			t.Errorf("Verify(wrong, %q) = %v, %v", v.phc, ok, err)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestDummyTakesAsLongAsVerify(t *testing.T) {
	ctx := context.Background()
	h := New(1)
	phc, err := h.Hash(ctx, "k", "secret")
	if err != nil {
		t.Fatal(err)
	}
	var verify, dummy []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := h.Verify(ctx, "k", "wrong", phc); err != nil {
			t.Fatal(err)
		}
		verify = append(verify, time.Since(start))
		start = time.Now()
		h.Dummy(ctx, "k")
		dummy = append(dummy, time.Since(start))
	}
	mv, md := median(verify), median(dummy)
	ratio := float64(md) / float64(mv)
	t.Logf("median Verify %v, Dummy %v (ratio %.2f)", mv, md, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("Dummy takes %.2f× as long as Verify, want 0.5–2×", ratio)
	}
}

func TestConcurrencyBoundTiming(t *testing.T) {
	ctx := context.Background()
	h := New(1)
	phc, err := h.Hash(ctx, "k", "secret")
	if err != nil {
		t.Fatal(err)
	}
	one := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		if _, err := h.Verify(ctx, "k", "secret", phc); err != nil {
			t.Fatal(err)
		}
		one = min(one, time.Since(start))
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 {
		wg.Go(func() {
			if _, err := h.Verify(ctx, "k", "secret", phc); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	both := time.Since(start)
	t.Logf("one Verify %v, two in parallel %v", one, both)
	// With one slot the two run one after the other: twice the fastest
	// single run, less a margin for timer and scheduler noise.
	if both < one*18/10 {
		t.Errorf("two parallel Verifies took %v, one takes %v: they were not serialised", both, one)
	}
}

// fill takes every slot under the key "filler", as running hashes would,
// and returns a func that frees them.
func fill(t *testing.T, h *Hasher) func() {
	t.Helper()
	for range h.slots {
		if err := h.acquire(context.Background(), "filler"); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for range h.slots {
			h.release()
		}
	}
}

// state is a snapshot of the scheduler's bookkeeping.
type state struct {
	running, keys, turns int
	waiting              map[string]int
}

func snapshot(h *Hasher) state {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := state{running: h.running, keys: len(h.queues), turns: h.turns.Len(), waiting: map[string]int{}}
	for k, q := range h.queues {
		st.waiting[k] = len(q.waiting)
	}
	return st
}

// eventually fails the test unless cond holds within a few seconds. Only
// the queue's bookkeeping is awaited this way, never the order of work.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !testkit.Eventually(5*time.Second, cond) {
		t.Fatalf("timed out waiting until %s", what)
	}
}

// recordGrants makes h log, in order, the key of every call given a slot.
func recordGrants(h *Hasher) func() []string {
	var order []string
	h.onGrant = func(key string) { order = append(order, key) }
	return func() []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return slices.Clone(order)
	}
}

// idle fails the test unless every slot is free and nothing is queued.
func idle(t *testing.T, h *Hasher) {
	t.Helper()
	if st := snapshot(h); st.running != 0 || st.keys != 0 || st.turns != 0 {
		t.Errorf("hasher not idle after all calls returned: %+v", st)
	}
}

func TestBusy(t *testing.T) {
	h := newHasher(2, DefaultQueuePerKey, cheap)
	phc, err := h.Hash(context.Background(), "k", "secret")
	if err != nil {
		t.Fatal(err)
	}
	free := fill(t, h)
	defer free()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ok, err := h.Verify(ctx, "k", "secret", phc)
	if ok || !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify with all slots taken = %v, %v; want false, ErrBusy", ok, err)
	}
	if s, err := h.Hash(ctx, "k", "secret"); s != "" || !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with all slots taken = %q, %v; want ErrBusy", s, err)
	}
	start := time.Now()
	h.Dummy(ctx, "k")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dummy waited %v after its context ended", d)
	}
}

func TestCanceledContextIsBusyEvenWithAFreeSlot(t *testing.T) {
	h := newHasher(1, DefaultQueuePerKey, cheap)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, err := h.Hash(ctx, "k", "x"); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash with a canceled context: %v", err)
		}
	}
	idle(t, h)
}

func TestWaitsForASlot(t *testing.T) {
	h := newHasher(1, DefaultQueuePerKey, cheap)
	phc, err := h.Hash(context.Background(), "k", "secret")
	if err != nil {
		t.Fatal(err)
	}
	free := fill(t, h)
	done := make(chan bool)
	go func() {
		ok, err := h.Verify(context.Background(), "k", "secret", phc)
		done <- ok && err == nil
	}()
	select {
	case <-done:
		t.Fatal("Verify ran while every slot was taken")
	case <-time.After(50 * time.Millisecond):
	}
	free()
	if !<-done {
		t.Error("Verify failed once a slot was free")
	}
	idle(t, h)
}

func TestNewClampsConcurrency(t *testing.T) {
	for _, n := range []int{-1, 0, 1} {
		if c := New(n).slots; c != 1 {
			t.Errorf("New(%d) has %d slots, want 1", n, c)
		}
	}
	if c := New(4).slots; c != 4 {
		t.Errorf("New(4) has %d slots", c)
	}
	if q := New(1).perKey; q != DefaultQueuePerKey {
		t.Errorf("New has a queue of %d per key, want %d", q, DefaultQueuePerKey)
	}
	if q := newHasher(1, 0, cheap).perKey; q != 1 {
		t.Errorf("a queue bound of 0 became %d, want 1", q)
	}
}

// TestABacklogDoesNotStarveAnotherKey is a flood of guesses under one key
// (an attacker's address) and then one real check under another (bob): bob
// is served after at most two of the flood's calls, not after all of them.
func TestABacklogDoesNotStarveAnotherKey(t *testing.T) {
	const flood = 50
	h := newHasher(1, flood, cheap)
	phc, err := h.Hash(context.Background(), "setup", "secret")
	if err != nil {
		t.Fatal(err)
	}
	order := recordGrants(h)
	ctx := context.Background()
	var wg sync.WaitGroup
	// The first of the flood runs at once and holds the only slot while
	// the rest queue behind it.
	if err := h.acquire(ctx, "attacker"); err != nil {
		t.Fatal(err)
	}
	for range flood - 1 {
		wg.Go(func() {
			if _, err := h.Verify(ctx, "attacker", "guess", phc); err != nil {
				t.Error(err)
			}
		})
	}
	eventually(t, "the flood is queued", func() bool { return snapshot(h).waiting["attacker"] == flood-1 })
	bobOK := make(chan bool, 1)
	wg.Go(func() {
		ok, err := h.Verify(ctx, "bob", "secret", phc)
		bobOK <- ok && err == nil
	})
	eventually(t, "bob is queued", func() bool { return snapshot(h).waiting["bob"] == 1 })
	h.release()
	wg.Wait()
	if !<-bobOK {
		t.Fatal("bob's check failed")
	}
	got := order()
	if len(got) != flood+1 {
		t.Fatalf("%d calls ran, want %d: %v", len(got), flood+1, got)
	}
	bob := slices.Index(got, "bob")
	if bob < 0 || bob > 2 {
		t.Fatalf("bob ran after %d of the attacker's calls, want at most 2: %v", bob, got)
	}
	idle(t, h)
}

// TestTurnsRotateAcrossKeys: waiting calls are served one per key in the
// order the keys started waiting, and in arrival order within a key.
func TestTurnsRotateAcrossKeys(t *testing.T) {
	h := newHasher(1, 10, cheap)
	order := recordGrants(h)
	free := fill(t, h)
	var wg sync.WaitGroup
	for i, key := range []string{"a", "a", "a", "b", "b", "c"} {
		wg.Go(func() { h.Dummy(context.Background(), key) })
		eventually(t, key+" is queued", func() bool {
			n := 0
			for _, w := range snapshot(h).waiting {
				n += w
			}
			return n == i+1
		})
	}
	free()
	wg.Wait()
	want := []string{"filler", "a", "b", "c", "a", "b", "a"}
	if got := order(); !slices.Equal(got, want) {
		t.Fatalf("slots given in the order %v, want %v", got, want)
	}
	idle(t, h)
}

// TestQueuePerKeyIsBounded: a key with its share waiting is refused at once;
// other keys still queue, and the key may queue again once it drains.
func TestQueuePerKeyIsBounded(t *testing.T) {
	const bound = 3
	h := newHasher(1, bound, cheap)
	free := fill(t, h)
	var wg sync.WaitGroup
	for range bound {
		wg.Go(func() { h.Dummy(context.Background(), "attacker") })
	}
	eventually(t, "the attacker's queue is full", func() bool { return snapshot(h).waiting["attacker"] == bound })

	// Refused without waiting: a context that never ends does not block it.
	refused := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "attacker", "x")
		refused <- err
	}()
	select {
	case err := <-refused:
		if !errors.Is(err, ErrQueueFull) || !errors.Is(err, ErrBusy) {
			t.Fatalf("call beyond the bound: %v; want ErrQueueFull wrapping ErrBusy", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call beyond the bound waited")
	}
	if _, err := h.Verify(context.Background(), "attacker", "x", knownVectors[0].phc); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Verify beyond the bound: %v", err)
	}
	if st := snapshot(h); st.waiting["attacker"] != bound {
		t.Fatalf("a refused call stayed queued: %+v", st)
	}

	bob := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "bob", "secret")
		bob <- err
	}()
	eventually(t, "bob is queued", func() bool { return snapshot(h).waiting["bob"] == 1 })
	free()
	if err := <-bob; err != nil {
		t.Fatalf("bob: %v", err)
	}
	wg.Wait()
	if _, err := h.Hash(context.Background(), "attacker", "x"); err != nil {
		t.Fatalf("the attacker's key after its queue drained: %v", err)
	}
	idle(t, h)
}

// TestCanceledWaiterLeavesTheQueue: a call whose context ends while it
// waits returns ErrBusy, gives up its place (the key's share and its turn)
// and never runs.
func TestCanceledWaiterLeavesTheQueue(t *testing.T) {
	h := newHasher(1, 2, cheap)
	order := recordGrants(h)
	free := fill(t, h)

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "alice", "x")
		first <- err
	}()
	eventually(t, "alice is queued", func() bool { return snapshot(h).waiting["alice"] == 1 })
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := h.Hash(context.Background(), "alice", "y"); err != nil {
			t.Error(err)
		}
	})
	eventually(t, "alice's second call is queued", func() bool { return snapshot(h).waiting["alice"] == 2 })

	// Only-waiter of its key: canceling it takes the key out of the turns.
	lone, cancelLone := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		ok, err := h.Verify(lone, "carol", "x", knownVectors[0].phc)
		if ok {
			err = errors.New("verified")
		}
		second <- err
	}()
	eventually(t, "carol is queued", func() bool { return snapshot(h).waiting["carol"] == 1 })

	cancel()
	if err := <-first; !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v; want ErrBusy wrapping context.Canceled", err)
	}
	cancelLone()
	if err := <-second; !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled lone waiter: %v", err)
	}
	st := snapshot(h)
	if st.waiting["alice"] != 1 || st.keys != 1 || st.turns != 1 || st.running != 1 {
		t.Fatalf("after cancellations: %+v; want alice's second call alone waiting", st)
	}
	// The freed place can be taken again within the bound.
	wg.Go(func() {
		if _, err := h.Hash(context.Background(), "alice", "z"); err != nil {
			t.Error(err)
		}
	})
	eventually(t, "alice queues again", func() bool { return snapshot(h).waiting["alice"] == 2 })
	free()
	wg.Wait()
	if got, want := order(), []string{"filler", "alice", "alice"}; !slices.Equal(got, want) {
		t.Fatalf("slots given to %v, want %v (canceled calls must not run)", got, want)
	}
	idle(t, h)
}

// TestContention runs many keys with contexts ending at random moments, so
// that cancellations race with slots being handed over; under -race it
// checks the locking. Every slot must come back and nothing stay queued.
func TestContention(t *testing.T) {
	h := newHasher(2, 4, cheap)
	var wg sync.WaitGroup
	var ran, busy atomic.Int32
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*100*time.Microsecond)
			defer cancel()
			if i%3 == 0 {
				ctx = context.Background()
			}
			_, err := h.Hash(ctx, fmt.Sprintf("key-%d", i%5), "x")
			switch {
			case err == nil:
				ran.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	t.Logf("%d ran, %d busy", ran.Load(), busy.Load())
	if ran.Load() == 0 {
		t.Error("nothing ran")
	}
	idle(t, h)
	if _, err := h.Hash(context.Background(), "after", "x"); err != nil {
		t.Fatalf("after contention: %v", err)
	}
}
