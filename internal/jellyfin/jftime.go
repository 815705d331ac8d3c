package jellyfin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// jfTime decodes Jellyfin's dates, which .NET writes with seven fractional
// digits (2025-01-01T12:00:00.0000000Z), sometimes without a zone, and as
// 0001-01-01T00:00:00 for "never". "Never", null and "" become the zero
// time.
type jfTime struct{ time.Time }

// UnmarshalJSON reads a JSON string date, null or "".
func (t *jfTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("jellyfin date: %w", err)
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// ParseTime parses a date as Jellyfin writes it: RFC 3339 with up to nine
// fractional digits, or the same without a zone, read as UTC (.NET writes
// DateTimeKind.Unspecified values that way). "" and year 1 give the zero
// time, so callers can test IsZero for "never".
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		if t, err2 = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err2 != nil {
			return time.Time{}, fmt.Errorf("jellyfin date %q: %w", s, err)
		}
	}
	if t.Year() <= 1 {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}
