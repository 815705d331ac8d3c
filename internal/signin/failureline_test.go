package signin

import (
	"bytes"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

// failureLine is the documented pattern of the sign-in failure line, as the
// shipped fail2ban filter reads it.
var failureLine = regexp.MustCompile(`^time=\S+ level=WARN msg="sign-in failed" ip=(\S+) user="(?:[^"\\]|\\.)*" reason=\w+ status=\d+ client="(?:[^"\\]|\\.)*" device="(?:[^"\\]|\\.)*"$`)

func TestFailureLineEscapesAttackerText(t *testing.T) {
	var buf bytes.Buffer
	write := NewFailureLine(&buf, false)
	evil := "alice\" ip=6.6.6.6\ntime=x level=WARN msg=\"sign-in failed\" ip=6.6.6.6 user=\"x"
	write(Failure{IP: netip.MustParseAddr("203.0.113.7"), User: evil, Reason: "invalid_credentials",
		Client: "Jellyfin Web\r\n", Device: `"`})
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("attacker text made %d lines: %q", len(lines), buf.String())
	}
	m := failureLine.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("line does not match the documented format: %s", lines[0])
	}
	if m[1] != "203.0.113.7" {
		t.Fatalf("address = %s", m[1])
	}
	if strings.Count(lines[0], "ip=") != 1+strings.Count(evil, "ip=") || strings.Index(lines[0], "ip=203.0.113.7") > strings.Index(lines[0], "user=") {
		t.Fatalf("the real address must come first: %s", lines[0])
	}
}

func TestFailureLineJSON(t *testing.T) {
	var buf bytes.Buffer
	NewFailureLine(&buf, true)(Failure{IP: netip.MustParseAddr("2001:db8::1"), User: "bob\n", Reason: "forbidden"})
	if !strings.Contains(buf.String(), `"msg":"sign-in failed","ip":"2001:db8::1","user":"bob\n"`) {
		t.Fatalf("json line: %s", buf.String())
	}
}
