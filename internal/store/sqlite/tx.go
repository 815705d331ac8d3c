package sqlite

import (
	"context"
	"database/sql"

	"github.com/jellyguard/jellyguard/internal/store"
)

// txKey is the context key under which a txWriter passes its transaction
// to the Store methods it calls.
type txKey struct{}

// openTx is a transaction of one Store that its write methods join.
type openTx struct {
	s  *Store
	tx *sql.Tx
}

// joined returns the transaction of s that ctx carries, or nil: a write
// method called with it writes there instead of beginning a transaction.
func joined(ctx context.Context, s *Store) *sql.Tx {
	if o, ok := ctx.Value(txKey{}).(*openTx); ok && o.s == s {
		return o.tx
	}
	return nil
}

// txWriter is the store.Writer of one open transaction. Each method is the
// Store's own, called with a context that makes its write join the
// transaction, so a write behaves the same inside an audited change and
// on its own.
type txWriter struct{ o *openTx }

var _ store.Writer = txWriter{}

func (w txWriter) in(ctx context.Context) context.Context {
	return context.WithValue(ctx, txKey{}, w.o)
}

// PutToken is Store.PutToken in the transaction.
func (w txWriter) PutToken(ctx context.Context, t store.Token) error {
	return w.o.s.PutToken(w.in(ctx), t)
}

// PutBan is Store.PutBan in the transaction.
func (w txWriter) PutBan(ctx context.Context, b store.Ban) error { return w.o.s.PutBan(w.in(ctx), b) }

// PutTOTP is Store.PutTOTP in the transaction.
func (w txWriter) PutTOTP(ctx context.Context, t store.TOTP) error {
	return w.o.s.PutTOTP(w.in(ctx), t)
}

// UseTOTPStep is Store.UseTOTPStep in the transaction.
func (w txWriter) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	return w.o.s.UseTOTPStep(w.in(ctx), userID, step)
}

// DeleteTOTP is Store.DeleteTOTP in the transaction.
func (w txWriter) DeleteTOTP(ctx context.Context, userID string) error {
	return w.o.s.DeleteTOTP(w.in(ctx), userID)
}

// ReplaceRecoveryCodes is Store.ReplaceRecoveryCodes in the transaction.
func (w txWriter) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []store.RecoveryCode) error {
	return w.o.s.ReplaceRecoveryCodes(w.in(ctx), userID, codes)
}

// DeletePendingEnrollment is Store.DeletePendingEnrollment in the
// transaction.
func (w txWriter) DeletePendingEnrollment(ctx context.Context, userID string) error {
	return w.o.s.DeletePendingEnrollment(w.in(ctx), userID)
}

// ResetUser is Store.ResetUser in the transaction.
func (w txWriter) ResetUser(ctx context.Context, userID string) error {
	return w.o.s.ResetUser(w.in(ctx), userID)
}
