package slowhash

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on what Verify accepts from a stored string. The upper ones keep a
// damaged or planted record from making one check allocate gigabytes or
// spin for minutes, while leaving ample room to raise the defaults (the
// RFC 9106 second recommendation, 64 MiB, fits easily).
const (
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 64
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
// Strict refuses encodings with stray low bits, so each hash has exactly
// one spelling.
var b64 = base64.RawStdEncoding.Strict()

// decoded is a parsed PHC string.
type decoded struct {
	p    params
	salt []byte
	key  []byte
	klen uint32 // len(key)
}

func format(p params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parse reads $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>.
func parse(phc string) (decoded, error) {
	fields := strings.Split(phc, "$")
	if len(fields) != 6 || fields[0] != "" {
		return decoded{}, fmt.Errorf("%w: want 5 fields", ErrMalformed)
	}
	if fields[1] != "argon2id" {
		return decoded{}, fmt.Errorf("%w: algorithm %q is not argon2id", ErrMalformed, fields[1])
	}
	v, err := number(fields[2], "v", 0xff)
	if err != nil {
		return decoded{}, err
	}
	if int(v) != argon2.Version {
		return decoded{}, fmt.Errorf("%w: version %d, want %d", ErrMalformed, v, argon2.Version)
	}
	ps := strings.Split(fields[3], ",")
	if len(ps) != 3 {
		return decoded{}, fmt.Errorf("%w: want parameters m, t and p", ErrMalformed)
	}
	m, err := number(ps[0], "m", maxMemory)
	if err != nil {
		return decoded{}, err
	}
	t, err := number(ps[1], "t", maxTime)
	if err != nil {
		return decoded{}, err
	}
	p, err := number(ps[2], "p", maxThreads)
	if err != nil {
		return decoded{}, err
	}
	// Argon2 needs at least 8 KiB per lane and one pass.
	if t < 1 || p < 1 || m < 8*p {
		return decoded{}, fmt.Errorf("%w: parameters m=%d,t=%d,p=%d out of range", ErrMalformed, m, t, p)
	}
	salt, err := b64.DecodeString(fields[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return decoded{}, fmt.Errorf("%w: salt is not %d to %d bytes of base64", ErrMalformed, minSaltLen, maxSaltLen)
	}
	key, err := b64.DecodeString(fields[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return decoded{}, fmt.Errorf("%w: hash is not %d to %d bytes of base64", ErrMalformed, minKeyLen, maxKeyLen)
	}
	return decoded{
		p:    params{memory: m, time: t, threads: uint8(p)}, //nolint:gosec // G115: p ≤ maxThreads
		salt: salt,
		key:  key,
		klen: uint32(len(key)), //nolint:gosec // G115: len(key) ≤ maxKeyLen
	}, nil
}

// number reads "name=<decimal>" with the value at most max.
func number(field, name string, max uint32) (uint32, error) {
	val, ok := strings.CutPrefix(field, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: want %s=", ErrMalformed, name)
	}
	// ParseUint alone would take "+1"; only plain digits are allowed.
	if val == "" || strings.TrimLeft(val, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %s is not a number", ErrMalformed, name)
	}
	n, err := strconv.ParseUint(val, 10, 32)
	if err != nil || n > uint64(max) {
		return 0, fmt.Errorf("%w: %s is out of range", ErrMalformed, name)
	}
	return uint32(n), nil
}
