package jellyfin

import (
	"maps"
	"testing"
)

func TestParseParts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		// Every row of the edge-case table in reference §2.3.
		{"all five fields", `Client="Jellyfin Web", Device="Firefox", DeviceId="abc", Version="10.11.11", Token="t"`,
			map[string]string{"Client": "Jellyfin Web", "Device": "Firefox", "DeviceId": "abc", "Version": "10.11.11", "Token": "t"}},
		{"comma inside quotes", `x="123,123",   y="123"`, map[string]string{"x": "123,123", "y": "123"}},
		{"unquoted", `Token=abc, Client=x`, map[string]string{"Token": "abc", "Client": "x"}},
		{"url-decoded", `Device="My+Phone%20X"`, map[string]string{"Device": "My Phone X"}},
		{"space after equals", `Token= "abc"`, map[string]string{"Token": ` "abc`}},
		{"space before comma", `Token="abc" , Client="x"`, map[string]string{"Token": `abc" `, "Client": "x"}},
		{"equals in unquoted value", `DeviceId=abc==, Token="t"`, map[string]string{"Token": "t"}},

		// Further behaviour of GetParts.
		{"empty", ``, map[string]string{}},
		{"keys are case-sensitive", `token="a", Token="b"`, map[string]string{"token": "a", "Token": "b"}},
		{"last duplicate wins", `Token="a", Token="b"`, map[string]string{"Token": "b"}},
		{"empty value keeps the key", `Token=,abc`, map[string]string{"Token": "abc"}},
		{"empty quoted value", `Token="", Client="x"`, map[string]string{"Token": "", "Client": "x"}},
		{"empty unquoted value stores nothing", `Token=, Client=x`, map[string]string{"Client": "x"}},
		{"value without key", `abc, Token=t`, map[string]string{"": "abc", "Token": "t"}},
		{"no space after comma", `Device="x",DeviceId="y"`, map[string]string{"Device": "x", "DeviceId": "y"}},
		{"key trimmed", "  Token \t=t", map[string]string{"Token": "t"}},
		{"several quotes trimmed", `Token=""t""`, map[string]string{"Token": "t"}},
		{"unterminated quote swallows the rest", `Token="a, Client=b`, map[string]string{"Token": "a, Client=b"}},
		{"quoted equals", `Token="a=b"`, map[string]string{"Token": "a=b"}},
		{"trailing comma", `Token="t",`, map[string]string{"Token": "t"}},
		{"plus is a space", `Device=Pixel+7`, map[string]string{"Device": "Pixel 7"}},
		{"encoded quote and comma", `Device="a%22b%2Cc"`, map[string]string{"Device": `a"b,c`}},
		{"invalid escape kept", `Token=%zz%4`, map[string]string{"Token": "%zz%4"}},
		{"escape at the end", `Token=%41`, map[string]string{"Token": "A"}},
		{"utf-8 escapes", `Device=%C3%A9`, map[string]string{"Device": "é"}},
		{"ill-formed utf-8 replaced", `Device=%E2%82A%FF`, map[string]string{"Device": "\uFFFDA\uFFFD"}},
		{"encoded plus", `Token=a%2Bb`, map[string]string{"Token": "a+b"}},
		{"extra fields", `Client="Kodi", UserId=u, Token=t`, map[string]string{"Client": "Kodi", "UserId": "u", "Token": "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseParts(tt.in); !maps.Equal(got, tt.want) {
				t.Errorf("ParseParts(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNetURLDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a+b", "a b"},
		{"%20", " "},
		{"%2", "%2"},
		{"%", "%"},
		{"%g1", "%g1"},
		{"100%", "100%"},
		{"%e2%82%ac", "€"},
		{"%E2%82", "\uFFFD"},       // one maximal subpart, one replacement
		{"%C0%AF", "\uFFFD\uFFFD"}, // C0 never starts a sequence
		{"%ED%A0%80", "\uFFFD\uFFFD\uFFFD"},
		{"%F0%9F%98%80", "😀"},
		{"é%41", "éA"},
	}
	for _, tt := range tests {
		if got := netURLDecode(tt.in); got != tt.want {
			t.Errorf("netURLDecode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsBlank(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true}, {" ", true}, {"\t\n", true}, {"\u00a0", true}, {"\u3000", true},
		{"a", false}, {" a ", false}, {"\uFFFD", false}, {"\u200b", false},
	}
	for _, tt := range tests {
		if got := isBlank(tt.in); got != tt.want {
			t.Errorf("isBlank(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
