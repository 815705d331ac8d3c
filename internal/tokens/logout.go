package tokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
)

// Revoking a token in the gateway is immediate and certain; logging it out
// of Jellyfin needs Jellyfin. Until Jellyfin confirms, the token still
// works for anyone who reaches Jellyfin directly, so the logout is an
// obligation kept in the store (revoked, not yet logged out) rather than a
// single attempt: whichever process can reach Jellyfin settles it. The
// running gateway reads every owed logout at start and retries each one,
// with its own backoff, for as long as it runs (KeepLogouts), including the
// revocations other processes announce; a process that revokes a token and
// can reach Jellyfin tries at once (Revoke); `token revoke` of a token
// already revoked tries again (RetryLogout).

// ErrNoUpstream means no Jellyfin is configured in this process, so it
// cannot log a token out; a running gateway will.
var ErrNoUpstream = errors.New("no Jellyfin is configured here to log the token out of")

// Logout backoff defaults, and how long one attempt may take.
const (
	DefaultLogoutRetry    = time.Second
	DefaultLogoutRetryMax = 5 * time.Minute
	logoutTimeout         = 10 * time.Second
)

// owedLogout is the retry state of one token whose logout has not been
// confirmed.
type owedLogout struct {
	next  time.Time     // not tried again before
	delay time.Duration // the wait after the next failure
	fails int
	err   error // why the last attempt failed
	// stuck: the logout can never succeed here (no sealed copy, or the
	// seal does not open with this data key); not retried until restart.
	stuck bool
}

// logout logs a revoked token out of Jellyfin and records it. It returns
// nil when Jellyfin confirmed (a 401 confirms too: the token is already
// dead there) or when there is nothing to do. A failure is remembered, so
// the token is retried after its backoff.
func (t *Table) logout(ctx context.Context, st store.Token) error {
	h := Hash(st.Hash)
	if st.Kind == store.KindAPIKey || !st.Revoked() || !st.LoggedOutAt.IsZero() {
		t.settled(h, false)
		return nil
	}
	if t.opt.Resolver == nil {
		return ErrNoUpstream
	}
	if len(st.Sealed) == 0 {
		return t.stuck(h, errors.New("no sealed copy of the token is stored, so it cannot be logged out of Jellyfin"))
	}
	token, err := t.opt.Keys.Open(st.Sealed, st.Hash[:])
	if err != nil {
		return t.stuck(h, fmt.Errorf("unsealing the token with this data directory's key: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, logoutTimeout)
	defer cancel()
	if err := t.opt.Resolver.Logout(ctx, string(token)); err != nil && !errors.Is(err, jellyfin.ErrInvalidToken) {
		return t.failed(h, fmt.Errorf("logging out of Jellyfin: %w", err))
	}
	if err := t.opt.Store.MarkLoggedOut(ctx, st.Hash, t.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		// Jellyfin confirmed; the next attempt finds the token dead (401)
		// and records it then.
		return t.failed(h, fmt.Errorf("recording the logout: %w", err))
	}
	t.settled(h, true)
	t.log.Info("logged a revoked token out of Jellyfin", "token", h.Short())
	return nil
}

// failed notes a failed attempt and schedules the next one.
func (t *Table) failed(h Hash, err error) error {
	t.logoutMu.Lock()
	o := t.owedLocked(h)
	wait := o.delay
	o.next, o.fails, o.err = t.now().Add(wait), o.fails+1, err
	o.delay = min(2*o.delay, t.logoutRetryMax)
	t.logoutMu.Unlock()
	if t.keeping.Load() {
		t.log.Warn("logging a revoked token out of Jellyfin failed; retrying later",
			"token", h.Short(), "retry_in", wait, "err", err)
	} else {
		t.log.Warn("logging a revoked token out of Jellyfin failed; a running gateway will retry",
			"token", h.Short(), "err", err)
	}
	return err
}

// stuck notes a logout that cannot succeed in this process.
func (t *Table) stuck(h Hash, err error) error {
	t.logoutMu.Lock()
	o := t.owedLocked(h)
	o.stuck, o.err = true, err
	t.logoutMu.Unlock()
	t.log.Error("a revoked token cannot be logged out of Jellyfin", "token", h.Short(), "err", err)
	return err
}

// settled forgets a token whose logout is done. When Jellyfin confirmed
// it, Jellyfin answers again, so the tokens waiting out a backoff are tried
// in the next round rather than minutes later.
func (t *Table) settled(h Hash, confirmed bool) {
	t.logoutMu.Lock()
	defer t.logoutMu.Unlock()
	delete(t.owed, h)
	if !confirmed {
		return
	}
	now := t.now()
	for _, o := range t.owed {
		if o.fails > 0 && !o.stuck {
			o.next = now
		}
	}
}

// owe records a logout to try in the next round, unless it is known.
func (t *Table) owe(h Hash) {
	t.logoutMu.Lock()
	t.owedLocked(h)
	t.logoutMu.Unlock()
}

// owedLocked returns the state of h, creating it due now. The caller holds
// t.logoutMu.
func (t *Table) owedLocked(h Hash) *owedLogout {
	o := t.owed[h]
	if o == nil {
		o = &owedLogout{next: t.now(), delay: t.logoutRetry}
		t.owed[h] = o
	}
	return o
}

// dueLogouts returns the owed logouts whose backoff has passed, the longest
// waiting first.
func (t *Table) dueLogouts(now time.Time) []Hash {
	type due struct {
		h    Hash
		next time.Time
	}
	var list []due
	t.logoutMu.Lock()
	for h, o := range t.owed {
		if !o.stuck && !o.next.After(now) {
			list = append(list, due{h, o.next})
		}
	}
	t.logoutMu.Unlock()
	slices.SortFunc(list, func(a, b due) int { return a.next.Compare(b.next) })
	out := make([]Hash, len(list))
	for i, d := range list {
		out[i] = d.h
	}
	return out
}

// LogoutError returns why the last attempt to log h out of Jellyfin failed,
// or nil when none failed or the logout has since been confirmed.
func (t *Table) LogoutError(h Hash) error {
	t.logoutMu.Lock()
	defer t.logoutMu.Unlock()
	if o := t.owed[h]; o != nil {
		return o.err
	}
	return nil
}

// RetryLogout tries now, whatever its backoff, to log the revoked token h
// out of Jellyfin, and returns the token as stored afterwards. The error is
// nil when Jellyfin confirmed, or when there was nothing to do (logged out
// already; an API key, which Jellyfin deletes only by hand); ErrNoUpstream
// when this process has no Jellyfin to ask.
func (t *Table) RetryLogout(ctx context.Context, h Hash) (store.Token, error) {
	st, err := t.opt.Store.Token(ctx, h)
	if err != nil {
		return st, fmt.Errorf("looking up token %s: %w", h.Short(), err)
	}
	if !st.Revoked() {
		return st, fmt.Errorf("token %s is not revoked", h.Short())
	}
	if err := t.logout(context.WithoutCancel(ctx), st); err != nil {
		return st, err
	}
	after, err := t.opt.Store.Token(ctx, h)
	if err != nil {
		return st, fmt.Errorf("looking up token %s: %w", h.Short(), err)
	}
	return after, nil
}

// RetryLogouts makes one round of owed logouts. The store is read for them
// at the first round and every LogoutRetryMax after, which finds the ones
// revoked while no gateway was running, or announced while this one was
// down (it starts reading the change feed at its newest entry). The due
// ones are tried, the longest waiting first, until one fails: Jellyfin is
// then most likely unreachable, and the rest wait for the next round rather
// than each waiting out a timeout now.
func (t *Table) RetryLogouts(ctx context.Context) error {
	if t.opt.Resolver == nil {
		return nil
	}
	now := t.now()
	if t.rescanDue(now) {
		pending, err := t.opt.Store.PendingLogouts(ctx)
		if err != nil {
			return fmt.Errorf("listing the revoked tokens not yet logged out: %w", err)
		}
		for _, st := range pending {
			t.owe(st.Hash)
		}
		t.rescanned(now)
		if len(pending) > 0 {
			t.log.Info("revoked tokens await their logout from Jellyfin", "count", len(pending))
		}
	}
	for _, h := range t.dueLogouts(now) {
		if ctx.Err() != nil {
			return nil
		}
		st, err := t.opt.Store.Token(ctx, h)
		if errors.Is(err, store.ErrNotFound) {
			t.settled(h, false)
			continue
		}
		if err != nil {
			return fmt.Errorf("looking up token %s: %w", h.Short(), err)
		}
		if t.logout(ctx, st) != nil {
			break
		}
	}
	return nil
}

// rescanDue reports whether the store is to be read for owed logouts now.
func (t *Table) rescanDue(now time.Time) bool {
	t.logoutMu.Lock()
	defer t.logoutMu.Unlock()
	return !now.Before(t.rescanAt)
}

// rescanned schedules the next reading of the store after one at now.
func (t *Table) rescanned(now time.Time) {
	t.logoutMu.Lock()
	t.rescanAt = now.Add(t.logoutRetryMax)
	t.logoutMu.Unlock()
}

// KeepLogouts keeps the logout obligations until ctx ends: a round at once
// (the logouts owed from before this process started) and then one every
// interval. It does nothing without a Jellyfin to ask.
func (t *Table) KeepLogouts(ctx context.Context, interval time.Duration) {
	if t.opt.Resolver == nil {
		return
	}
	t.keeping.Store(true)
	defer t.keeping.Store(false)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := t.RetryLogouts(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("retrying owed logouts failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
