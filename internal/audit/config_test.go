package audit

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestRecordConfigAuditsOnlyChanges(t *testing.T) {
	l := New(openStore(t), testKeys(t, 1), nil)
	ctx := context.Background()
	secret := func(k string) bool { return k == "api_key" }
	cfg := map[string]string{"listen": ":8097", "api_key": l.SecretDigest("k1")}
	changed, err := l.RecordConfig(ctx, cfg, secret)
	if err != nil || len(changed) != 0 {
		t.Fatalf("first start: %v %v", changed, err)
	}
	if changed, _ := l.RecordConfig(ctx, cfg, secret); len(changed) != 0 {
		t.Fatalf("unchanged config audited: %v", changed)
	}
	cfg2 := map[string]string{"listen": "127.0.0.1:8097", "api_key": l.SecretDigest("k2")}
	changed, err = l.RecordConfig(ctx, cfg2, secret)
	if err != nil || !slices.Equal(changed, []string{"api_key", "listen"}) {
		t.Fatalf("changed %v %v", changed, err)
	}
	evs, _ := l.Tail(ctx, 10)
	if len(evs) != 2 || evs[0].Detail != "first start" || evs[1].Kind != ConfigChanged {
		t.Fatalf("events %+v", evs)
	}
	d := evs[1].Detail
	if !strings.Contains(d, `listen: ":8097" → "127.0.0.1:8097"`) || !strings.Contains(d, "api_key changed") || strings.Contains(d, "mac:") {
		t.Fatalf("detail %q", d)
	}
	if l.SecretDigest("k1") == l.SecretDigest("k2") || strings.Contains(l.SecretDigest("k1"), "k1") {
		t.Fatal("digest")
	}
}
