// Package slowhash hashes the secrets jellyguard generates and must check
// later — recovery codes and app passwords — with argon2id, stored in PHC
// string form. The parameters travel in each string, so they can be raised
// later without invalidating what is stored.
//
// Argon2 is deliberately expensive: every Hash, Verify and Dummy waits for
// one of a fixed number of slots, so a flood of guesses queues up instead of
// running unbounded CPU and memory. Waiting work is queued per key (the
// user, or the client address before a user is known) and served round-robin
// across keys, so one key's backlog delays another key's work by at most one
// job per waiting key instead of the whole backlog; each key's queue is
// bounded and work beyond the bound fails at once. A caller whose context
// ends while it waits, or whose key's queue is full, gets ErrBusy and must
// fail closed.
package slowhash

import (
	"container/list"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"

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

// DefaultQueuePerKey is how many calls of one key may wait for a slot at
// once. A person signing in has one check in flight; a handful more covers
// a double submit or a few tabs, and anything beyond is a flood that gains
// nothing by waiting.
const DefaultQueuePerKey = 8

var (
	// ErrBusy is returned when no hashing slot could be had: the context
	// ended while waiting, or the key already had too many calls waiting
	// (ErrQueueFull). The caller must treat it as a failed check.
	ErrBusy = errors.New("slow hash: no hashing slot free")

	// ErrQueueFull is returned, without waiting, when the key already has
	// its share of calls waiting for a slot. It wraps ErrBusy.
	ErrQueueFull = fmt.Errorf("%w: too many calls of this key waiting", ErrBusy)

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
// at a time, sharing the slots fairly between keys. It is safe for
// concurrent use.
type Hasher struct {
	p      params
	slots  int // how many hashes may run at once
	perKey int // how many calls of one key may wait

	mu      sync.Mutex
	running int // slots taken; equals slots whenever anyone waits
	queues  map[string]*queue
	// turns holds the *queue of every key with a waiting call, in the
	// order they are served: the front key gets the next free slot and,
	// if it has more waiting, goes to the back.
	turns *list.List
	// onGrant, when set (tests), is called under mu with the key of each
	// call given a slot, in the order the slots are given.
	onGrant func(key string)
}

// queue is one key's waiting calls, oldest first.
type queue struct {
	key     string
	waiting []*waiter
	turn    *list.Element // its place in Hasher.turns
}

// waiter is one call waiting for a slot. ready is closed when the slot is
// handed over; granted records it under Hasher.mu, for a waiter whose
// context ends at the same moment.
type waiter struct {
	ready   chan struct{}
	granted bool
}

// New returns a Hasher with the default parameters that runs at most
// concurrency hashes at once (fewer than 1 means 1) and lets
// DefaultQueuePerKey calls of one key wait. Each running hash holds about
// 19 MiB, so concurrency bounds memory as well as CPU; the number of CPUs
// is a sensible value.
func New(concurrency int) *Hasher {
	return newHasher(concurrency, DefaultQueuePerKey, params{memory: DefaultMemory, time: DefaultTime, threads: DefaultThreads})
}

func newHasher(concurrency, perKey int, p params) *Hasher {
	return &Hasher{p: p, slots: max(concurrency, 1), perKey: max(perKey, 1),
		queues: make(map[string]*queue), turns: list.New()}
}

// acquire takes a hashing slot for key, waiting its turn if none is free.
// A context that has already ended gets ErrBusy even when a slot is free:
// a caller that has given up must not spend one.
func (h *Hasher) acquire(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	h.mu.Lock()
	// Nobody waits while a slot is free: release hands a freed slot to
	// the next waiter directly.
	if h.running < h.slots {
		h.running++
		h.noteGrant(key)
		h.mu.Unlock()
		return nil
	}
	q := h.queues[key]
	if q != nil && len(q.waiting) >= h.perKey {
		n := len(q.waiting)
		h.mu.Unlock()
		return fmt.Errorf("%w (%d waiting)", ErrQueueFull, n)
	}
	if q == nil {
		q = &queue{key: key}
		q.turn = h.turns.PushBack(q)
		h.queues[key] = q
	}
	w := &waiter{ready: make(chan struct{})}
	q.waiting = append(q.waiting, w)
	h.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	if w.granted {
		// The slot arrived as the context ended: pass it on.
		h.mu.Unlock()
		h.release()
	} else {
		h.leave(q, w)
		h.mu.Unlock()
	}
	return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
}

// leave takes a waiter whose context ended out of its queue, and the key
// out of the rotation once nothing of it waits. Caller holds h.mu.
func (h *Hasher) leave(q *queue, w *waiter) {
	if i := slices.Index(q.waiting, w); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
	}
	if len(q.waiting) == 0 {
		h.drop(q)
	}
}

// drop forgets a key with nothing waiting. Caller holds h.mu.
func (h *Hasher) drop(q *queue) {
	h.turns.Remove(q.turn)
	delete(h.queues, q.key)
}

// release frees a slot, or hands it straight to the oldest waiting call of
// the key whose turn it is; that key then goes to the back of the turns.
func (h *Hasher) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	front := h.turns.Front()
	if front == nil {
		h.running--
		return
	}
	q := front.Value.(*queue)
	w := q.waiting[0]
	q.waiting[0] = nil
	q.waiting = q.waiting[1:]
	if len(q.waiting) == 0 {
		h.drop(q)
	} else {
		h.turns.MoveToBack(front)
	}
	w.granted = true
	h.noteGrant(q.key)
	close(w.ready)
}

// noteGrant reports a slot given to key to the test hook. Caller holds h.mu.
func (h *Hasher) noteGrant(key string) {
	if h.onGrant != nil {
		h.onGrant(key)
	}
}

// Hash returns secret's argon2id hash in PHC form with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. key is whose turn the work
// counts against (see the package comment).
func (h *Hasher) Hash(ctx context.Context, key, secret string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading salt: %w", err)
	}
	if err := h.acquire(ctx, key); err != nil {
		return "", err
	}
	defer h.release()
	sum := argon2.IDKey([]byte(secret), salt, h.p.time, h.p.memory, h.p.threads, keyLen)
	return format(h.p, salt, sum), nil
}

// Verify reports whether secret matches phc. The parameters are read from
// phc, not from the Hasher, so hashes made with older settings still check.
// A wrong secret is (false, nil); a string that cannot be checked is
// (false, an error wrapping ErrMalformed); a call whose context ends while
// it waits, or whose key already has too many calls waiting, is (false, an
// error wrapping ErrBusy). The comparison is constant time.
func (h *Hasher) Verify(ctx context.Context, key, secret, phc string) (bool, error) {
	d, err := parse(phc)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx, key); err != nil {
		return false, err
	}
	defer h.release()
	sum := argon2.IDKey([]byte(secret), d.salt, d.p.time, d.p.memory, d.p.threads, d.klen)
	return subtle.ConstantTimeCompare(sum, d.key) == 1, nil
}

// dummySalt is the salt Dummy hashes with. It needs no secrecy: Dummy's
// result is thrown away.
var dummySalt = make([]byte, saltLen)

// Dummy does the work of one Verify, with the Hasher's parameters, against
// nothing. A sign-in path with no hash to check (no such code, no such app
// password) calls it so that it takes as long as one that has: the time of
// an answer must not tell whether a hash existed. It waits for a slot like
// Verify (callers pass the key the real check would have used, so both
// queue alike) and returns early when Verify would have failed with ErrBusy.
func (h *Hasher) Dummy(ctx context.Context, key string) {
	if err := h.acquire(ctx, key); err != nil {
		return
	}
	defer h.release()
	sum := argon2.IDKey([]byte("jellyguard dummy"), dummySalt, h.p.time, h.p.memory, h.p.threads, keyLen)
	subtle.ConstantTimeCompare(sum, sum)
}
