package signin

import (
	"context"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/store"
)

// recordPending remembers a native device that gave a right password but
// no code, so the user can approve it on the Setup page.
func (s *Service) recordPending(ctx context.Context, f *flight) {
	res, c := f.res, f.a.Client
	devs, err := s.opt.Store.Devices(ctx, res.User.ID)
	if err != nil {
		s.log.Warn("reading devices failed", "err", err)
		return
	}
	now := s.now()
	d := store.Device{ID: device.NewID(), CreatedAt: now}
	pending := 0
	for _, x := range devs {
		if x.State != store.DevicePending {
			continue
		}
		if x.DeviceID == c.DeviceID && x.Client == c.App {
			d = x // the same device asking again: refresh it
			continue
		}
		if pending++; pending >= device.MaxPendingPerUser {
			_ = s.opt.Store.PutDevice(ctx, expire(x, now)) // oldest beyond the cap (newest first)
		}
	}
	d.UserID, d.UserName, d.DeviceID, d.Client, d.DeviceName = res.User.ID, res.User.Name, c.DeviceID, c.App, c.DeviceName
	d.IP, d.State, d.ExpiresAt = c.IP.String(), store.DevicePending, now.Add(device.PendingTTL)
	if err := s.opt.Store.PutDevice(ctx, d); err != nil {
		s.log.Warn("recording pending device failed", "err", err)
		return
	}
	if s.notices.Allow(res.User.ID) {
		s.log.Warn("a device is waiting for approval", "user", res.User.Name, "client", c.App, "device", c.DeviceName, "ip", c.IP)
		s.record(ctx, audit.Event{Kind: audit.DevicePending, UserID: res.User.ID, UserName: res.User.Name, IP: c.IP,
			Client: c.App, Device: c.DeviceName})
	}
}

func expire(d store.Device, now time.Time) store.Device {
	d.ExpiresAt = now
	d.State = store.DeviceRevoked
	return d
}

// cookiePath is where the trust cookie is sent: all of Jellyfin, since the
// login request carries it.
func (s *Service) cookiePath() string {
	if b := s.opt.Config.BaseURL; b != "" {
		return b + "/"
	}
	return "/"
}
