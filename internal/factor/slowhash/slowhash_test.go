package slowhash

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// cheap keeps tests that are not about cost fast.
var cheap = params{memory: 64, time: 1, threads: 1}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := New(2)
	phc, err := h.Hash(ctx, "ABCDE-FGHJK")
	if err != nil {
		t.Fatal(err)
	}
	if !phcRE.MatchString(phc) {
		t.Errorf("hash %q is not in the expected PHC form", phc)
	}
	ok, err := h.Verify(ctx, "ABCDE-FGHJK", phc)
	if err != nil || !ok {
		t.Errorf("Verify(right secret) = %v, %v", ok, err)
	}
	for _, wrong := range []string{"ABCDE-FGHJM", "abcde-fghjk", "", "ABCDE-FGHJK "} {
		ok, err := h.Verify(ctx, wrong, phc)
		if err != nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
	again, err := h.Hash(ctx, "ABCDE-FGHJK")
	if err != nil {
		t.Fatal(err)
	}
	if again == phc {
		t.Error("two hashes of the same secret are equal: salt not random")
	}
}

func TestEmptyAndLongSecrets(t *testing.T) {
	ctx := context.Background()
	h := newHasher(1, cheap)
	for _, s := range []string{"", strings.Repeat("x", 10000), "pässwörd;日本"} {
		phc, err := h.Hash(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.Verify(ctx, s, phc); !ok || err != nil {
			t.Errorf("Verify(%.10q) = %v, %v", s, ok, err)
		}
	}
}

func TestTampered(t *testing.T) {
	ctx := context.Background()
	h := newHasher(1, cheap)
	phc, err := h.Hash(ctx, "secret")
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
		ok, err := h.Verify(ctx, "secret", bad)
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
	h := newHasher(1, cheap)
	good, err := h.Hash(ctx, "secret")
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
			ok, err := h.Verify(ctx, "secret", tc.phc)
			if ok || !errors.Is(err, ErrMalformed) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", tc.phc, ok, err)
			}
		})
	}
}

func TestParamsReadFromString(t *testing.T) {
	ctx := context.Background()
	old := newHasher(1, params{memory: 8192, time: 1, threads: 2})
	phc, err := old.Hash(ctx, "secret")
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
	if ok, err := New(1).Verify(ctx, "secret", phc); !ok || err != nil {
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
		ok, err := h.Verify(context.Background(), v.secret, v.phc)
		if err != nil || !ok {
			t.Errorf("Verify(%q, %q) = %v, %v", v.secret, v.phc, ok, err)
		}
		ok, err = h.Verify(context.Background(), v.secret+"x", v.phc)
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
	phc, err := h.Hash(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	var verify, dummy []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := h.Verify(ctx, "wrong", phc); err != nil {
			t.Fatal(err)
		}
		verify = append(verify, time.Since(start))
		start = time.Now()
		h.Dummy(ctx)
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
	phc, err := h.Hash(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	one := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		if _, err := h.Verify(ctx, "secret", phc); err != nil {
			t.Fatal(err)
		}
		one = min(one, time.Since(start))
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 {
		wg.Go(func() {
			if _, err := h.Verify(ctx, "secret", phc); err != nil {
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

// fill takes every slot, as running hashes would, and returns a func that
// frees them.
func fill(h *Hasher) func() {
	for range cap(h.sem) {
		h.sem <- struct{}{}
	}
	return func() {
		for range cap(h.sem) {
			<-h.sem
		}
	}
}

func TestBusy(t *testing.T) {
	h := newHasher(2, cheap)
	phc, err := h.Hash(context.Background(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	free := fill(h)
	defer free()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ok, err := h.Verify(ctx, "secret", phc)
	if ok || !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify with all slots taken = %v, %v; want false, ErrBusy", ok, err)
	}
	if s, err := h.Hash(ctx, "secret"); s != "" || !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with all slots taken = %q, %v; want ErrBusy", s, err)
	}
	start := time.Now()
	h.Dummy(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dummy waited %v after its context ended", d)
	}
}

func TestCanceledContextIsBusyEvenWithAFreeSlot(t *testing.T) {
	h := newHasher(1, cheap)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, err := h.Hash(ctx, "x"); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash with a canceled context: %v", err)
		}
	}
}

func TestWaitsForASlot(t *testing.T) {
	h := newHasher(1, cheap)
	phc, err := h.Hash(context.Background(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	free := fill(h)
	done := make(chan bool)
	go func() {
		ok, err := h.Verify(context.Background(), "secret", phc)
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
	if n := len(h.sem); n != 0 {
		t.Errorf("%d slots still taken after Verify returned", n)
	}
}

func TestNewClampsConcurrency(t *testing.T) {
	for _, n := range []int{-1, 0, 1} {
		if c := cap(New(n).sem); c != 1 {
			t.Errorf("New(%d) has %d slots, want 1", n, c)
		}
	}
	if c := cap(New(4).sem); c != 4 {
		t.Errorf("New(4) has %d slots", c)
	}
}
