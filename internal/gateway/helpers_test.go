package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/store"
)

type fakeNetwork = fake.NetworkConfig

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s: status %d: %s", resp.Request.URL, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

func decodeToken(t *testing.T, resp *http.Response) string {
	t.Helper()
	var res struct{ AccessToken string }
	decodeJSON(t, resp, &res)
	if res.AccessToken == "" {
		t.Fatal("no AccessToken")
	}
	return res.AccessToken
}

type auditEvent = store.AuditEvent
