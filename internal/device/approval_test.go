package device

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func TestSamePrefix(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		// IPv4: /24.
		{"203.0.113.7", "203.0.113.7", true},
		{"203.0.113.7", "203.0.113.250", true},
		{"203.0.113.0", "203.0.113.255", true},
		{"203.0.113.7", "203.0.114.7", false},
		{"203.0.113.7", "204.0.113.7", false},
		{"10.0.0.1", "10.0.1.1", false},
		// IPv6: /56.
		{"2001:db8:1:ab00::1", "2001:db8:1:ab00::1", true},
		{"2001:db8:1:ab00::1", "2001:db8:1:abff:ffff::9", true},
		{"2001:db8:1:ab00::1", "2001:db8:1:ac00::1", false},
		{"2001:db8:1:ab00::1", "2001:db8:2:ab00::1", false},
		{"2001:db8:1:ab00::1", "2001:db9:1:ab00::1", false},
		{"fe80::1%eth0", "fe80::2%eth1", true},
		{"fe80::1%eth0", "fe80::2", true},
		// IPv4-mapped IPv6 counts as IPv4.
		{"::ffff:203.0.113.7", "203.0.113.9", true},
		{"203.0.113.7", "::ffff:203.0.113.9", true},
		{"::ffff:203.0.113.7", "::ffff:203.0.113.200", true},
		{"::ffff:203.0.113.7", "::ffff:203.0.114.7", false},
		{"::ffff:203.0.113.7", "203.0.114.7", false},
		// Families never mix: an IPv4 address whose bits happen to equal
		// the start of an IPv6 prefix does not match it.
		{"0.0.0.1", "::1", false},
		{"203.0.113.7", "cb00:7100::", false},
		{"203.0.113.7", "::203.0.113.7", false},
	} {
		a, b := netip.MustParseAddr(tc.a), netip.MustParseAddr(tc.b)
		if got := SamePrefix(a, b); got != tc.want {
			t.Errorf("SamePrefix(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := SamePrefix(b, a); got != tc.want {
			t.Errorf("SamePrefix(%s, %s) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
	var zero netip.Addr
	for _, b := range []netip.Addr{zero, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::")} {
		if SamePrefix(zero, b) || SamePrefix(b, zero) {
			t.Errorf("the invalid address matched %v", b)
		}
	}
}

func approved() store.Device {
	return store.Device{
		ID:         "d0000000000000000000000000000001",
		UserID:     "f0e1d2c3b4a5968778695a4b3c2d1e0f",
		UserName:   "anna",
		DeviceID:   "b1c2d3e4f5a6b7c8",
		Client:     "Findroid",
		DeviceName: "Pixel 8",
		IP:         "198.51.100.20",
		State:      store.DeviceApproved,
		CreatedAt:  t0.Add(-2 * time.Hour),
		ApprovedAt: t0.Add(-10 * time.Minute),
		ExpiresAt:  t0.Add(50 * time.Minute),
	}
}

func TestAdmits(t *testing.T) {
	base := approved()
	addr := netip.MustParseAddr("198.51.100.77")
	cases := []struct {
		name   string
		dev    func(*store.Device)
		user   string
		device string
		client string
		addr   string
		now    time.Time
		want   bool
	}{
		{name: "all conditions hold", want: true},
		{name: "same address", addr: "198.51.100.20", want: true},
		{name: "mapped address", addr: "::ffff:198.51.100.1", want: true},
		{name: "recorded as mapped", dev: func(d *store.Device) { d.IP = "::ffff:198.51.100.20" }, want: true},
		{name: "a second before expiry", now: base.ExpiresAt.Add(-time.Second), want: true},

		{name: "pending", dev: func(d *store.Device) { d.State = store.DevicePending }},
		{name: "active", dev: func(d *store.Device) { d.State = store.DeviceActive }},
		{name: "revoked", dev: func(d *store.Device) { d.State = store.DeviceRevoked }},
		{name: "no state", dev: func(d *store.Device) { d.State = "" }},
		{name: "expired", now: base.ExpiresAt},
		{name: "long expired", now: base.ExpiresAt.Add(24 * time.Hour)},
		{name: "no expiry", dev: func(d *store.Device) { d.ExpiresAt = time.Time{} }},
		{name: "other user", user: "00000000000000000000000000000001"},
		{name: "empty user", user: "-", dev: func(d *store.Device) { d.UserID = "" }},
		{name: "other device", device: "b1c2d3e4f5a6b7c9"},
		{name: "device id differs in case", device: "B1C2D3E4F5A6B7C8"},
		{name: "empty device", device: "-", dev: func(d *store.Device) { d.DeviceID = "" }},
		{name: "other client", client: "Jellyfin Android"},
		{name: "empty client", client: "-", dev: func(d *store.Device) { d.Client = "" }},
		{name: "other /24", addr: "198.51.101.77"},
		{name: "other family", addr: "2001:db8::1"},
		{name: "invalid address", addr: "-"},
		{name: "recorded address unparsable", dev: func(d *store.Device) { d.IP = "not an address" }},
		{name: "recorded address empty", dev: func(d *store.Device) { d.IP = "" }},
		{name: "recorded with port", dev: func(d *store.Device) { d.IP = "198.51.100.20:443" }},
	}
	pick := func(v, def string) string {
		switch v {
		case "":
			return def
		case "-":
			return ""
		}
		return v
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := base
			if tc.dev != nil {
				tc.dev(&d)
			}
			a := addr
			switch tc.addr {
			case "":
			case "-":
				a = netip.Addr{}
			default:
				a = netip.MustParseAddr(tc.addr)
			}
			now := t0
			if !tc.now.IsZero() {
				now = tc.now
			}
			got := Admits(d, pick(tc.user, base.UserID), pick(tc.device, base.DeviceID), pick(tc.client, base.Client), a, now)
			if got != tc.want {
				t.Fatalf("Admits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAdmitsIPv6(t *testing.T) {
	d := approved()
	d.IP = "2001:db8:aa:bb00::10"
	for addr, want := range map[string]bool{
		"2001:db8:aa:bb12:1::1": true,
		"2001:db8:aa:bbff::1":   true,
		"2001:db8:aa:bc00::10":  false,
		"2001:db8:ab:bb00::10":  false,
	} {
		if got := Admits(d, d.UserID, d.DeviceID, d.Client, netip.MustParseAddr(addr), t0); got != want {
			t.Errorf("Admits from %s = %v, want %v", addr, got, want)
		}
	}
}

func TestPendingApproveAdmit(t *testing.T) {
	from := netip.MustParseAddr("::ffff:198.51.100.20")
	p := NewPending("u1", "anna", "dev1", "Findroid", "Pixel 8", from, t0)
	if p.State != store.DevicePending || p.IP != "198.51.100.20" || len(p.ID) != 32 ||
		!p.CreatedAt.Equal(t0) || !p.ExpiresAt.Equal(t0.Add(PendingTTL)) {
		t.Fatalf("NewPending = %+v", p)
	}
	if NewPending("u1", "anna", "dev1", "Findroid", "Pixel 8", netip.Addr{}, t0).IP != "" {
		t.Fatal("an invalid address was recorded")
	}
	if Admits(p, "u1", "dev1", "Findroid", from, t0) {
		t.Fatal("a pending entry admits a sign-in")
	}
	if _, ok := Approve(p, p.ExpiresAt); ok {
		t.Fatal("an expired pending entry was approved")
	}

	at := t0.Add(3 * time.Hour)
	a, ok := Approve(p, at)
	if !ok || a.State != store.DeviceApproved || !a.ApprovedAt.Equal(at) || !a.ExpiresAt.Equal(at.Add(ApprovalTTL)) {
		t.Fatalf("Approve = %+v, %v", a, ok)
	}
	if _, ok := Approve(a, at); ok {
		t.Fatal("an approved entry was approved again")
	}
	if !Admits(a, "u1", "dev1", "Findroid", netip.MustParseAddr("198.51.100.99"), at.Add(59*time.Minute)) {
		t.Fatal("the approval does not admit the device within the hour")
	}
	if Admits(a, "u1", "dev1", "Findroid", netip.MustParseAddr("198.51.100.99"), at.Add(ApprovalTTL)) {
		t.Fatal("the approval admits the device after the hour")
	}
	for _, s := range []store.DeviceState{store.DeviceActive, store.DeviceRevoked, ""} {
		d := p
		d.State = s
		if _, ok := Approve(d, t0); ok {
			t.Errorf("a %q entry was approved", s)
		}
	}
}

func TestPendingToDrop(t *testing.T) {
	var devs []store.Device
	// Twelve live pending entries, created an hour apart, listed newest
	// first as the store does.
	for i := 11; i >= 0; i-- {
		devs = append(devs, store.Device{
			ID:        fmt.Sprintf("p%02d", i),
			State:     store.DevicePending,
			CreatedAt: t0.Add(time.Duration(i) * time.Hour),
			ExpiresAt: t0.Add(time.Duration(i)*time.Hour + PendingTTL),
		})
	}
	// Other states never count and are never dropped.
	devs = append(devs,
		store.Device{ID: "approved", State: store.DeviceApproved, CreatedAt: t0.Add(-48 * time.Hour)},
		store.Device{ID: "active", State: store.DeviceActive, CreatedAt: t0.Add(-48 * time.Hour)},
		store.Device{ID: "revoked", State: store.DeviceRevoked, CreatedAt: t0.Add(-48 * time.Hour)},
	)
	now := t0.Add(12 * time.Hour)
	ids := func(ds []store.Device) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		slices.Sort(out)
		return out
	}
	// 12 live: drop the 3 oldest so that 9 remain and a 10th fits.
	if got, want := ids(PendingToDrop(devs, now)), []string{"p00", "p01", "p02"}; !slices.Equal(got, want) {
		t.Fatalf("PendingToDrop = %v, want %v", got, want)
	}
	// A day later the two oldest have expired; they go, then the oldest
	// live one, leaving 9.
	later := t0.Add(PendingTTL + time.Hour)
	if got, want := ids(PendingToDrop(devs, later)), []string{"p00", "p01", "p02"}; !slices.Equal(got, want) {
		t.Fatalf("later: PendingToDrop = %v, want %v", got, want)
	}
	// Much later all have expired.
	if got := PendingToDrop(devs, t0.Add(10*PendingTTL)); len(got) != 12 {
		t.Fatalf("all expired: dropped %d, want 12", len(got))
	}
	// Under the cap nothing goes.
	if got := PendingToDrop(devs[:MaxPendingPerUser-1], now); len(got) != 0 {
		t.Fatalf("under the cap: dropped %v", ids(got))
	}
	if got := PendingToDrop(devs[:MaxPendingPerUser], now); len(got) != 1 || got[0].ID != "p02" {
		t.Fatalf("at the cap: dropped %v, want [p02]", ids(got))
	}
}
