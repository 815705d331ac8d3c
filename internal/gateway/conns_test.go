package gateway

import (
	"context"
	"errors"
	"testing"

	"github.com/jellyguard/jellyguard/internal/tokens"
)

func TestTrackerCancelsOnlyTheRevokedTokensRequests(t *testing.T) {
	tr := newTracker()
	a, b := tokens.HashOf("a"), tokens.HashOf("b")
	ctxA1, relA1 := tr.track(a, context.Background())
	ctxA2, relA2 := tr.track(a, context.Background())
	ctxB, relB := tr.track(b, context.Background())
	defer relB()
	if tr.open(a) != 2 || tr.open(b) != 1 {
		t.Fatalf("open = %d, %d", tr.open(a), tr.open(b))
	}
	tr.closeAll(a)
	for _, ctx := range []context.Context{ctxA1, ctxA2} {
		if !errors.Is(context.Cause(ctx), errRevoked) {
			t.Fatalf("cause = %v", context.Cause(ctx))
		}
	}
	if ctxB.Err() != nil {
		t.Fatal("other token's request cancelled")
	}
	relA1()
	relA2()
	// A new request after the revocation is tracked afresh and released cleanly.
	_, rel := tr.track(a, context.Background())
	if tr.open(a) != 1 {
		t.Fatalf("open after re-track = %d", tr.open(a))
	}
	rel()
	if tr.open(a) != 0 {
		t.Fatalf("open after release = %d", tr.open(a))
	}
}
