package config

import (
	"strings"
	"testing"
	"time"
)

func TestUpstreamHeaderTimeout(t *testing.T) {
	if d := Default().Limits.UpstreamHeaderTimeout; d != 60*time.Second {
		t.Errorf("default %v, want 60s", d)
	}
	if !strings.Contains(Example(), "\n  upstream_header_timeout: 60s\n") {
		t.Error("config example does not document limits.upstream_header_timeout")
	}
	c, err := Load("", envMap(map[string]string{"JELLYGUARD_LIMITS_UPSTREAM_HEADER_TIMEOUT": "5s"}))
	if err != nil || c.Limits.UpstreamHeaderTimeout != 5*time.Second {
		t.Errorf("from the environment: %v, %v", c, err)
	}
	_, err = Load(writeConfig(t, "limits:\n  upstream_header_timeout: 0s\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "config.yaml:2:28: limits.upstream_header_timeout: must be greater than 0 (got 0s)") {
		t.Errorf("zero timeout: %v", err)
	}
}
