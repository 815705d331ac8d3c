// Package slowhash hashes the secrets jellyguard generates and must check
// later — recovery codes and app passwords — with argon2id, stored in PHC
// string form. The parameters travel in each string, so they can be raised
// later without invalidating what is stored.
//
// Argon2 is deliberately expensive: every Hash, Verify and Dummy waits for
// one of a fixed number of slots, so a flood of guesses queues up instead of
// running unbounded CPU and memory. A caller whose context ends while it
// waits gets ErrBusy and must fail closed.
package slowhash

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Default parameters: the OWASP minimum for argon2id (19 MiB, two passes,
// one lane), about 30 ms on a small server.
const (
	DefaultMemory  = 19 * 1024 // KiB
	DefaultTime    = 2
	DefaultThreads = 1
)

const (
	saltLen = 16
	keyLen  = 32
)

var (
	// ErrBusy is returned when the context ends while waiting for a
	// hashing slot. The caller must treat it as a failed check.
	ErrBusy = errors.New("slow hash: no hashing slot free")

	// ErrMalformed is returned by Verify for a string that is not an
	// argon2id PHC string this package can check.
	ErrMalformed = errors.New("slow hash: malformed argon2id PHC string")
)

// params are argon2id's cost parameters.
type params struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// Hasher hashes and verifies secrets with argon2id, at most a fixed number
// at a time. It is safe for concurrent use.
type Hasher struct {
	p   params
	sem chan struct{}
}

// New returns a Hasher with the default parameters that runs at most
// concurrency hashes at once (fewer than 1 means 1). Each running hash holds
// about 19 MiB, so concurrency bounds memory as well as CPU; the number of
// CPUs is a sensible value.
func New(concurrency int) *Hasher {
	return newHasher(concurrency, params{memory: DefaultMemory, time: DefaultTime, threads: DefaultThreads})
}

func newHasher(concurrency int, p params) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Hasher{p: p, sem: make(chan struct{}, concurrency)}
}

// acquire waits for a hashing slot. A context that has already ended gets
// ErrBusy even when a slot is free, so the outcome does not depend on
// select's random choice.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns secret's argon2id hash in PHC form with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *Hasher) Hash(ctx context.Context, secret string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(secret), salt, h.p.time, h.p.memory, h.p.threads, keyLen)
	return format(h.p, salt, key), nil
}

// Verify reports whether secret matches phc. The parameters are read from
// phc, not from the Hasher, so hashes made with older settings still check.
// A wrong secret is (false, nil); a string that cannot be checked is
// (false, an error wrapping ErrMalformed); a context that ends while waiting
// is (false, an error wrapping ErrBusy). The comparison is constant time.
func (h *Hasher) Verify(ctx context.Context, secret, phc string) (bool, error) {
	d, err := parse(phc)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	key := argon2.IDKey([]byte(secret), d.salt, d.p.time, d.p.memory, d.p.threads, d.klen)
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// dummySalt is the salt Dummy hashes with. It needs no secrecy: Dummy's
// result is thrown away.
var dummySalt = make([]byte, saltLen)

// Dummy does the work of one Verify, with the Hasher's parameters, against
// nothing. A sign-in path with no hash to check (no such code, no such app
// password) calls it so that it takes as long as one that has: the time of
// an answer must not tell whether a hash existed. It waits for a slot like
// Verify, and returns early only if ctx ends while waiting.
func (h *Hasher) Dummy(ctx context.Context) {
	if err := h.acquire(ctx); err != nil {
		return
	}
	defer h.release()
	key := argon2.IDKey([]byte("jellyguard dummy"), dummySalt, h.p.time, h.p.memory, h.p.threads, keyLen)
	subtle.ConstantTimeCompare(key, key)
}
