package device

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// A device id is not a secret: some clients derive it from the username
// (Android TV uses sha1(ANDROID_ID+"+"+username)), and every client sends it
// in clear. An approval therefore admits a sign-in from that device only
// from the address prefix the pending entry was recorded from, and only
// within a bounded window; after that, trust lives in the released token.

// Limits on pending entries and approvals.
const (
	// MaxPendingPerUser caps a user's pending entries; the oldest are
	// dropped to make room for a new one.
	MaxPendingPerUser = 10
	// PendingTTL is how long a pending entry waits for an approval.
	PendingTTL = 24 * time.Hour
	// ApprovalTTL is how long an approved device has to sign in.
	ApprovalTTL = time.Hour
)

// Prefix lengths an approval is bound to.
const (
	prefixBits4 = 24
	prefixBits6 = 56 // a home connection's delegated prefix
)

// SamePrefix reports whether two addresses share the approval prefix: /24
// for IPv4, /56 for IPv6 (a home connection's delegated prefix). IPv4-mapped
// IPv6 addresses count as IPv4 and zones are ignored; invalid addresses
// never match, and an IPv4 address never matches an IPv6 one.
func SamePrefix(a, b netip.Addr) bool {
	a, b = a.Unmap().WithZone(""), b.Unmap().WithZone("")
	if !a.IsValid() || !b.IsValid() || a.Is4() != b.Is4() {
		return false
	}
	bits := prefixBits6
	if a.Is4() {
		bits = prefixBits4
	}
	pa, errA := a.Prefix(bits)
	pb, errB := b.Prefix(bits)
	return errA == nil && errB == nil && pa == pb
}

// Admits decides whether an approved device record admits a sign-in: state
// approved, not expired, same user id, same device id, same client name,
// and an address that shares SamePrefix with the address the pending entry
// was recorded from (d.IP). Empty identifiers never match.
func Admits(d store.Device, userID, deviceID, client string, addr netip.Addr, now time.Time) bool {
	if d.State != store.DeviceApproved || !now.Before(d.ExpiresAt) {
		return false
	}
	if userID == "" || d.UserID != userID ||
		deviceID == "" || d.DeviceID != deviceID ||
		client == "" || d.Client != client {
		return false
	}
	recorded, err := netip.ParseAddr(d.IP)
	return err == nil && SamePrefix(recorded, addr)
}

// NewPending returns the pending entry for a sign-in that had the right
// password but could not answer a challenge. It expires after PendingTTL.
func NewPending(userID, userName, deviceID, client, deviceName string, addr netip.Addr, now time.Time) store.Device {
	ip := ""
	if addr.IsValid() {
		ip = addr.Unmap().String()
	}
	return store.Device{
		ID:         NewID(),
		UserID:     userID,
		UserName:   userName,
		DeviceID:   deviceID,
		Client:     client,
		DeviceName: deviceName,
		IP:         ip,
		State:      store.DevicePending,
		CreatedAt:  now,
		ExpiresAt:  now.Add(PendingTTL),
	}
}

// Approve returns d approved at now, with ApprovalTTL to sign in. It
// reports false, and returns d unchanged, unless d is a pending entry that
// has not expired.
func Approve(d store.Device, now time.Time) (store.Device, bool) {
	if d.State != store.DevicePending || !now.Before(d.ExpiresAt) {
		return d, false
	}
	d.State = store.DeviceApproved
	d.ApprovedAt = now
	d.ExpiresAt = now.Add(ApprovalTTL)
	return d, true
}

// PendingToDrop returns, from a user's devices, the pending entries to
// delete before one more is added: those that have expired, and then the
// oldest of the rest until MaxPendingPerUser-1 remain. Other states are
// never returned. The order of devices does not matter.
func PendingToDrop(devices []store.Device, now time.Time) []store.Device {
	var drop, live []store.Device
	for _, d := range devices {
		if d.State != store.DevicePending {
			continue
		}
		if !now.Before(d.ExpiresAt) {
			drop = append(drop, d)
		} else {
			live = append(live, d)
		}
	}
	if excess := len(live) - (MaxPendingPerUser - 1); excess > 0 {
		slices.SortStableFunc(live, func(a, b store.Device) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		drop = append(drop, live[:excess]...)
	}
	return drop
}
