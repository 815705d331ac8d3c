package signin

import (
	"context"
	"testing"
	"time"
)

func TestPacerHoldsRefusalsToAcceptedSignInTimes(t *testing.T) {
	p := newPacer(time.Second)
	if p.floor() != 0 {
		t.Fatal("no observations must mean no hold")
	}
	for i := 1; i <= 10; i++ {
		p.observe(time.Duration(i) * 10 * time.Millisecond)
	}
	if got := p.floor(); got != 100*time.Millisecond {
		t.Fatalf("floor %v, want the 90th percentile 100ms", got)
	}
	start := time.Now()
	p.hold(context.Background(), start)
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("held %v", waited)
	}
	// A cancelled request is not held.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	p.hold(ctx, start)
	if time.Since(start) > 50*time.Millisecond {
		t.Fatal("held a cancelled request")
	}
	// The limit caps it, and old observations roll out of the window.
	for range 40 {
		p.observe(time.Hour)
	}
	if got := p.floor(); got != time.Second {
		t.Fatalf("floor %v, want the 1s limit", got)
	}
}
