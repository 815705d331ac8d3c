package testkit

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestBufferTakesConcurrentWritesWhole(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&b, "line %02d\n", i)
		}()
	}
	wg.Wait()
	if got := len(b.Lines("line ")); got != 20 {
		t.Fatalf("%d whole lines, want 20:\n%s", got, b.String())
	}
	b.Logger().Info("hello", "k", "v")
	if len(b.Lines(`msg=hello k=v`)) != 1 {
		t.Fatalf("logger line missing:\n%s", b.String())
	}
}

func TestEventually(t *testing.T) {
	start := time.Now()
	if !Eventually(time.Second, func() bool { return time.Since(start) > 20*time.Millisecond }) {
		t.Fatal("a condition that comes true was not seen")
	}
	if Eventually(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported held")
	}
}

func TestClockMovesOnlyWhenTold(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now = %v", c.Now())
	}
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(t0); got != 90*time.Second {
		t.Fatalf("advanced %v", got)
	}
}

func TestHangingServerNeverAnswers(t *testing.T) {
	url := HangingServer(t)
	client := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	resp, err := client.Get(url)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatalf("the hanging server answered %d", resp.StatusCode)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatalf("gave up after %v: the connection was refused, not left hanging: %v", time.Since(start), err)
	}
}
