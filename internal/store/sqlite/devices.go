package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jellyguard/jellyguard/internal/store"
)

const deviceColumns = `id, user_id, user_name, device_id, client, device_name, ip, state,
	created_at, approved_at, expires_at, token_hash`

const putDeviceSQL = `INSERT INTO devices (` + deviceColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	ON CONFLICT (id) DO UPDATE SET
		user_id = excluded.user_id, user_name = excluded.user_name, device_id = excluded.device_id,
		client = excluded.client, device_name = excluded.device_name, ip = excluded.ip,
		state = excluded.state, created_at = excluded.created_at,
		approved_at = excluded.approved_at, expires_at = excluded.expires_at,
		token_hash = excluded.token_hash`

// PutDevice inserts or replaces a device. An all-zero TokenHash is stored
// as "no token".
func (s *Store) PutDevice(ctx context.Context, d store.Device) error {
	var hash []byte
	if d.TokenHash != ([32]byte{}) {
		hash = d.TokenHash[:]
	}
	return s.write(ctx, "storing device", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, putDeviceSQL, d.ID, d.UserID, d.UserName, d.DeviceID, d.Client,
			d.DeviceName, d.IP, string(d.State), nanos(d.CreatedAt), nullNanos(d.ApprovedAt),
			nullNanos(d.ExpiresAt), hash)
		return err
	})
}

const selectDeviceSQL = `SELECT ` + deviceColumns + ` FROM devices WHERE id = $1`

// Device returns the device with id, or store.ErrNotFound.
func (s *Store) Device(ctx context.Context, id string) (store.Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, selectDeviceSQL, id))
	if err != nil {
		return store.Device{}, fmt.Errorf("looking up device: %w", notFound(err))
	}
	return d, nil
}

const selectUserDevicesSQL = `SELECT ` + deviceColumns + ` FROM devices
	WHERE user_id = $1 ORDER BY created_at DESC, id`

// Devices lists userID's devices in every state, newest first.
func (s *Store) Devices(ctx context.Context, userID string) ([]store.Device, error) {
	return queryAll(ctx, s.db, "listing devices", scanDevice, selectUserDevicesSQL, userID)
}

// scanDevice reads one row selected with deviceColumns.
func scanDevice(r scanner) (store.Device, error) {
	var (
		d                          store.Device
		state                      string
		created, approved, expires sql.NullInt64
		hash                       []byte
	)
	err := r.Scan(&d.ID, &d.UserID, &d.UserName, &d.DeviceID, &d.Client, &d.DeviceName, &d.IP, &state,
		&created, &approved, &expires, &hash)
	if err != nil {
		return store.Device{}, err
	}
	switch len(hash) {
	case 0:
	case len(d.TokenHash):
		copy(d.TokenHash[:], hash)
	default:
		return store.Device{}, fmt.Errorf("device row has a %d-byte token hash", len(hash))
	}
	d.State = store.DeviceState(state)
	d.CreatedAt, d.ApprovedAt, d.ExpiresAt = fromNanos(created), fromNanos(approved), fromNanos(expires)
	return d, nil
}
