package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Binary and decimal size units, so defaults and limits read as they are
// written in the file ("64KiB", "1MB").
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
	TiB ByteSize = 1 << 40
	KB  ByteSize = 1000
	MB  ByteSize = 1000 * KB
	GB  ByteSize = 1000 * MB
	TB  ByteSize = 1000 * GB
)

// sizeUnits maps a lower-cased unit suffix to its size.
var sizeUnits = map[string]ByteSize{
	"": 1, "b": 1,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
	"kb": KB, "mb": MB, "gb": GB, "tb": TB,
}

// ParseByteSize reads a size the way people write it: a whole number of
// bytes ("65536") optionally followed by a unit, binary ("64KiB", "1MiB",
// "1GiB") or decimal ("64KB", "1MB"). Units ignore case and may follow a
// space ("64 KiB").
func ParseByteSize(s string) (ByteSize, error) {
	text := strings.TrimSpace(s)
	digits := len(text) - len(strings.TrimLeft(text, "0123456789"))
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(text[digits:]))]
	if digits == 0 || !ok {
		return 0, fmt.Errorf("invalid size %q (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)", s)
	}
	n, err := strconv.ParseInt(text[:digits], 10, 64)
	if err != nil || n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n) * unit, nil
}

// String writes the size in the largest unit that divides it exactly,
// binary before decimal ("64KiB", "2MB", "100B"), so it reads back through
// ParseByteSize unchanged.
func (b ByteSize) String() string {
	for _, u := range []struct {
		size ByteSize
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}, {TB, "TB"}, {GB, "GB"}, {MB, "MB"}, {KB, "KB"}} {
		if b != 0 && b%u.size == 0 {
			return fmt.Sprintf("%d%s", b/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", int64(b))
}

// MarshalText writes the size as String does, so `config show` prints
// "64KiB" rather than 65536.
func (b ByteSize) MarshalText() ([]byte, error) {
	return []byte(b.String()), nil
}

// UnmarshalText reads a size as ParseByteSize does.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
