package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBanListSaysUntilLiftedAndStatus: a ban without an end reads "until
// lifted" (null in JSON, never a zero time), and --all tells active, expired
// and lifted bans apart.
func TestBanListSaysUntilLiftedAndStatus(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"ban", "add", "203.0.113.7", "--reason", "scanning"},
		{"ban", "add", "203.0.113.8", "--for", "2h"},
		{"ban", "add", "198.51.100.0/24", "--for", "1ms"},
		{"ban", "add", "2001:db8::1"},
		{"ban", "remove", "2001:db8::1"},
	} {
		if r := runCLI(t, append([]string{"--data", dir}, args...)...); r.code != exitOK {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	time.Sleep(5 * time.Millisecond) // the 1ms ban runs out

	r := runCLI(t, "--data", dir, "ban", "list")
	if r.code != exitOK {
		t.Fatalf("ban list: exit %d, stderr %q", r.code, r.stderr)
	}
	line := lineWith(r.stdout, "203.0.113.7/32")
	if !strings.Contains(line, "until lifted") || !strings.Contains(line, "active") || strings.Contains(line, "0001") {
		t.Errorf("ban list row of a ban without an end: %q\n%s", line, r.stdout)
	}
	if strings.Contains(r.stdout, "198.51.100.0/24") || strings.Contains(r.stdout, "2001:db8::/64") {
		t.Errorf("ban list without --all shows an expired or lifted ban:\n%s", r.stdout)
	}

	r = runCLI(t, "--data", dir, "ban", "list", "--all")
	for network, status := range map[string]string{
		"203.0.113.7/32": "active", "203.0.113.8/32": "active", "198.51.100.0/24": "expired", "2001:db8::/64": "lifted 2",
	} {
		if line := lineWith(r.stdout, network); !strings.Contains(line, " "+status) {
			t.Errorf("ban list --all: %s should be %q: %q\n%s", network, status, line, r.stdout)
		}
	}

	r = runCLI(t, "--data", dir, "ban", "list", "--all", "--json")
	var bans []banJSON
	if err := json.Unmarshal([]byte(r.stdout), &bans); err != nil || len(bans) != 4 {
		t.Fatalf("ban list --all --json: %v, %q", err, r.stdout)
	}
	for _, b := range bans {
		switch b.Network {
		case "203.0.113.7/32":
			if b.Status != "active" || b.Expires != nil || b.Lifted != nil || b.Reason != "scanning" || b.Source != "manual" {
				t.Errorf("ban without an end in JSON: %+v", b)
			}
		case "203.0.113.8/32":
			if b.Status != "active" || b.Expires == nil || time.Until(*b.Expires) < time.Hour {
				t.Errorf("ban for 2h in JSON: %+v", b)
			}
		case "198.51.100.0/24":
			if b.Status != "expired" || b.Expires == nil {
				t.Errorf("expired ban in JSON: %+v", b)
			}
		case "2001:db8::/64":
			if b.Status != "lifted" || b.Lifted == nil {
				t.Errorf("lifted ban in JSON: %+v", b)
			}
		}
	}
	if strings.Contains(r.stdout, "0001-01-01") {
		t.Errorf("ban list --json shows a zero time: %s", r.stdout)
	}

	empty := t.TempDir()
	if r := runCLI(t, "--data", empty, "ban", "list", "--all"); strings.TrimSpace(r.stdout) != "No bans." {
		t.Errorf("ban list --all of no bans: %q", r.stdout)
	}
	if r := runCLI(t, "--data", empty, "ban", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("ban list --json of no bans: %q", r.stdout)
	}
	if r := runCLI(t, "--data", empty, "ban", "add", "203.0.113.9", "--for", "-1h"); r.code != exitUsage {
		t.Errorf("ban add --for -1h: exit %d, want %d", r.code, exitUsage)
	}
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestBanAddOfAnExemptAddressNamesTheRule: the refusal names the key and
// the entry that exempt the address.
func TestBanAddOfAnExemptAddressNamesTheRule(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		flags []string
		addr  string
		want  string
	}{
		{[]string{"--trusted-proxies", "10.0.0.1"}, "10.0.0.1", "not banning 10.0.0.1/32: 10.0.0.1 is a trusted proxy, and banning it would ban everyone who comes through it (trusted_proxies: 10.0.0.1/32)"},
		{nil, "192.168.1.7", "192.168.1.7 is on the LAN, which the shield never bans (shield.lan: 192.168.1.0/24); remove it from shield.lan first"},
		{nil, "172.16.5.5", "172.16.5.5 is in a network that skips the second factor, which the shield never bans (two_factor.lan_bypass: 172.16.0.0/12)"},
		{nil, "127.0.0.1", "127.0.0.1 is exempt from bans and throttles (shield.exempt: 127.0.0.0/8); remove it from shield.exempt first if it must be banned"},
	} {
		env := map[string]string{"JELLYGUARD_DATA": dir, "JELLYGUARD_SHIELD_LAN": "192.168.1.0/24",
			"JELLYGUARD_TWO_FACTOR_LAN_BYPASS": "172.16.0.0/12", "JELLYGUARD_SHIELD_EXEMPT": "127.0.0.0/8"}
		r := runCLIEnv(t, env, append(c.flags, "ban", "add", c.addr)...)
		if r.code != exitError || !strings.Contains(r.stderr, c.want) {
			t.Errorf("ban add %s: exit %d, stderr %q; want exit 1 and %q", c.addr, r.code, r.stderr, c.want)
		}
	}
	if r := runCLI(t, "--data", dir, "ban", "list", "--all"); !strings.Contains(r.stdout, "No bans.") {
		t.Errorf("a refused ban was stored:\n%s", r.stdout)
	}
}
