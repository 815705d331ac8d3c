package config

import (
	"strings"
	"testing"
)

func TestFlattenCoversEveryKeyAndHidesSecrets(t *testing.T) {
	c := Default()
	c.APIKey = "super-secret-key"
	c.TrustedProxies = []string{"10.0.0.0/8", "cloudflare"}
	flat := c.Flatten(func(s string) string { return "digest(" + s[:2] + ")" })
	if len(flat) != len(leaves()) {
		t.Fatalf("%d keys flattened, %d exist", len(flat), len(leaves()))
	}
	for k, v := range flat {
		if strings.Contains(v, "super-secret-key") {
			t.Fatalf("%s shows the secret", k)
		}
	}
	want := map[string]string{"api_key": "digest(su)", "listen": ":8097", "tokens.cache_ttl": "5m0s",
		"limits.login_body": "64KiB", "trusted_proxies": "10.0.0.0/8,cloudflare", "tokens.strict": "false"}
	for k, v := range want {
		if flat[k] != v {
			t.Errorf("%s = %q, want %q", k, flat[k], v)
		}
	}
	if !IsSecret("api_key") || IsSecret("listen") {
		t.Fatal("IsSecret")
	}
}
