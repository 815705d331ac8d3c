package signin

import (
	"context"
	"slices"
	"sync"
	"time"
)

// pacer makes refused sign-ins take as long as accepted ones. Jellyfin
// answers an unknown user faster than a wrong password (it hashes nothing),
// and a right password with a wrong code costs the gateway more still; an
// attacker timing answers could tell them apart. So every refusal is held
// until the 90th percentile of recent sign-ins Jellyfin accepted. Only
// accepted sign-ins are observed: an attacker flooding fast failures cannot
// lower the bar.
type pacer struct {
	mu     sync.Mutex
	recent [32]time.Duration
	n      int // observations so far (saturates at len(recent))
	next   int
	limit  time.Duration // no refusal is held longer than this
}

func newPacer(limit time.Duration) *pacer { return &pacer{limit: limit} }

// observe records how long a sign-in Jellyfin accepted took.
func (p *pacer) observe(d time.Duration) {
	p.mu.Lock()
	p.recent[p.next] = d
	p.next = (p.next + 1) % len(p.recent)
	p.n = min(p.n+1, len(p.recent))
	p.mu.Unlock()
}

// floor is how long a refusal should take.
func (p *pacer) floor() time.Duration {
	p.mu.Lock()
	sample := slices.Clone(p.recent[:p.n])
	p.mu.Unlock()
	if len(sample) == 0 {
		return 0
	}
	slices.Sort(sample)
	return min(sample[len(sample)*9/10], p.limit)
}

// hold waits until start+floor, or until ctx ends.
func (p *pacer) hold(ctx context.Context, start time.Time) {
	wait := time.Until(start.Add(p.floor()))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
