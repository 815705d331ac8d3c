package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/jellyguard/jellyguard/internal/tokens"
)

// errRevoked is the cause given to the requests of a revoked token.
var errRevoked = errors.New("token revoked")

// tracker knows the requests in flight (streams, WebSockets) of every
// token, so that revoking a token also ends what it has open. It is sharded
// so that the many short requests of a busy gateway rarely share a lock.
type tracker struct {
	shards [16]trackerShard
}

type trackerShard struct {
	mu   sync.Mutex
	reqs map[tokens.Hash]*reqSet
}

type reqSet struct{ m map[*trackedReq]struct{} }

type trackedReq struct{ cancel context.CancelCauseFunc }

func newTracker() *tracker {
	t := &tracker{}
	for i := range t.shards {
		t.shards[i].reqs = make(map[tokens.Hash]*reqSet)
	}
	return t
}

func (t *tracker) shard(h tokens.Hash) *trackerShard { return &t.shards[h[0]&15] }

// track derives a context that closeAll(h) cancels; release must be called
// when the request ends.
func (t *tracker) track(h tokens.Hash, parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	req := &trackedReq{cancel: cancel}
	s := t.shard(h)
	s.mu.Lock()
	set := s.reqs[h]
	if set == nil {
		set = &reqSet{m: make(map[*trackedReq]struct{})}
		s.reqs[h] = set
	}
	set.m[req] = struct{}{}
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		delete(set.m, req)
		if len(set.m) == 0 && s.reqs[h] == set {
			delete(s.reqs, h)
		}
		s.mu.Unlock()
		cancel(nil)
	}
}

// closeAll cancels every request in flight for h.
func (t *tracker) closeAll(h tokens.Hash) {
	s := t.shard(h)
	s.mu.Lock()
	var cancels []context.CancelCauseFunc
	if set := s.reqs[h]; set != nil {
		for req := range set.m {
			cancels = append(cancels, req.cancel)
		}
	}
	delete(s.reqs, h)
	s.mu.Unlock()
	for _, cancel := range cancels {
		cancel(errRevoked)
	}
}

// open returns how many requests of h are in flight (tests).
func (t *tracker) open(h tokens.Hash) int {
	s := t.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.reqs[h]; set != nil {
		return len(set.m)
	}
	return 0
}
