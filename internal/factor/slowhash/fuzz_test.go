package slowhash

import (
	"context"
	"errors"
	"testing"
)

// FuzzVerifyPHC feeds arbitrary strings to Verify as stored hashes: it must
// never panic, and anything it cannot check must be ErrMalformed.
func FuzzVerifyPHC(f *testing.F) {
	ctx := context.Background()
	h := newHasher(1, DefaultQueuePerKey, cheap)
	// A fixed hash, not a fresh one: every fuzzing process must agree on it.
	secret, valid := knownVectors[0].secret, knownVectors[0].phc
	for _, s := range []string{
		valid,
		"$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"", "$", "$$$$$", "$argon2id$v=19$m=0,t=0,p=0$$",
		"$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, phc string) {
		d, perr := parse(phc)
		if perr == nil && (d.p.memory > 1024 || d.p.time > 2) {
			// Valid but costly: parsing was the point; skip the hash.
			return
		}
		ok, err := h.Verify(ctx, "fuzz", secret, phc)
		switch {
		case perr != nil:
			if ok || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) = %v, %v; want false, ErrMalformed", phc, ok, err)
			}
		case err != nil:
			t.Fatalf("Verify(%q) parsed but failed: %v", phc, err)
		}
		if ok && phc != valid {
			// Strict base64 and exact field syntax leave one spelling
			// per hash.
			t.Fatalf("Verify accepted %q, a different spelling of the hash", phc)
		}
	})
}
