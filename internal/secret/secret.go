// Package secret holds jellyguard's data key: one random master key in a
// file in the data directory, from which separate keys are derived to seal
// secrets at rest (AES-256-GCM) and to sign things (HMAC-SHA256). Deriving
// per purpose means a value signed for one use can never be replayed as
// another, and the master itself is never used directly.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeyFileName is the name of the key file inside the data directory.
const KeyFileName = "jellyguard.key"

// KeySize is the length in bytes of the master key.
const KeySize = 32

const (
	sealVersion1 = 1
	sealInfo     = "jellyguard seal v1"
	macInfo      = "jellyguard mac v1 "
	nonceSize    = 12
)

// ErrSealed is returned by Open when sealed data cannot be opened: it is
// damaged, was moved to another record, or was sealed under another key.
var ErrSealed = errors.New("sealed data is damaged, belongs to another record, or was sealed under another key")

// Keys holds the key material from the data directory's key file. It is safe
// for concurrent use.
type Keys struct {
	master [KeySize]byte
	seal   cipher.AEAD
}

// FromBytes builds Keys from a master key held elsewhere (tests, or a key
// supplied by the environment instead of the key file).
func FromBytes(master []byte) (*Keys, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(master), KeySize)
	}
	k := &Keys{}
	copy(k.master[:], master)
	sealKey, err := k.derive(sealInfo)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("preparing the sealing cipher: %w", err)
	}
	if k.seal, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("preparing the sealing cipher: %w", err)
	}
	return k, nil
}

// String keeps the key material out of logs and error messages when Keys is
// printed by accident.
func (k *Keys) String() string { return "secret.Keys{redacted}" }

// GoString redacts like String, for the %#v verb.
func (k *Keys) GoString() string { return k.String() }

// derive returns a 32-byte key for one purpose, bound to the master.
func (k *Keys) derive(info string) ([]byte, error) {
	key, err := hkdf.Key(sha256.New, k.master[:], nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving key %q: %w", info, err)
	}
	return key, nil
}

// Seal encrypts plaintext with AES-256-GCM under a key derived from the
// master. The result is a version byte, a random 96-bit nonce and the
// ciphertext with its tag. aad binds the result to its record (e.g. the
// token hash), so a sealed value copied to another row does not open.
func (k *Keys) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+k.seal.Overhead())
	out[0] = sealVersion1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("generating a nonce: %w", err)
	}
	return k.seal.Seal(out, out[1:], plaintext, sealAAD(out[0], aad)), nil
}

// Open decrypts what Seal produced with the same aad. Any change to the
// sealed bytes or the aad yields ErrSealed.
func (k *Keys) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+k.seal.Overhead() || sealed[0] != sealVersion1 {
		return nil, ErrSealed
	}
	nonce, ct := sealed[1:1+nonceSize], sealed[1+nonceSize:]
	plain, err := k.seal.Open(nil, nonce, ct, sealAAD(sealed[0], aad))
	if err != nil {
		return nil, ErrSealed
	}
	return plain, nil
}

// sealAAD authenticates the version byte along with the caller's aad, so a
// future format cannot be confused with this one.
func sealAAD(version byte, aad []byte) []byte {
	return append([]byte{version}, aad...)
}

// MAC returns HMAC-SHA256 over parts under a key derived from the master and
// purpose, so a MAC made for one purpose never verifies for another. Each
// part is length-prefixed, so ("ab", "c") and ("a", "bc") differ.
func (k *Keys) MAC(purpose string, parts ...[]byte) []byte {
	key, err := k.derive(macInfo + purpose)
	if err != nil {
		// HKDF-SHA256 only fails for outputs longer than 255*32 bytes.
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// VerifyMAC reports, in constant time, whether mac is MAC(purpose, parts...).
func (k *Keys) VerifyMAC(purpose string, mac []byte, parts ...[]byte) bool {
	return hmac.Equal(mac, k.MAC(purpose, parts...))
}
