package fake

import (
	"bytes"
	"crypto/md5" //nolint:gosec // Jellyfin derives session ids with MD5; emulated, not used for security
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// zeroGUID is Guid.Empty in "N" format: the user id of an API key (§2.5).
const zeroGUID = "00000000000000000000000000000000"

// jfTime is a DateTime as Jellyfin's JsonDateTimeConverter writes it (§1): UTC
// with seven fractional digits when the value has no whole milliseconds
// (always the case for 0001-01-01), otherwise System.Text.Json's default,
// which drops trailing zeros of the fraction.
type jfTime time.Time

// MarshalJSON implements json.Marshaler.
func (t jfTime) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(formatJFTime(time.Time(t)))), nil
}

// formatJFTime renders t like Jellyfin, truncated to .NET's 100 ns ticks.
func formatJFTime(t time.Time) string {
	t = t.UTC().Truncate(100 * time.Nanosecond)
	if t.IsZero() {
		t = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	base := t.Format("2006-01-02T15:04:05")
	ticks := t.Nanosecond() / 100
	if ticks/10000 == 0 {
		return base + "." + pad7(ticks) + "Z"
	}
	frac := strings.TrimRight(pad7(ticks), "0")
	return base + "." + frac + "Z"
}

func pad7(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat("0", 7-len(s)) + s
}

// timePtr converts an optional time for a nullable DTO field.
func timePtr(t time.Time) *jfTime {
	if t.IsZero() {
		return nil
	}
	j := jfTime(t)
	return &j
}

// newGUID returns a random version-4 GUID in "N" format, the form of every
// Jellyfin token, id and secret (§2.4).
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// randomHex returns n random bytes as hex; upper selects Convert.ToHexString's
// upper case (Quick Connect secrets, §4).
func randomHex(n int, upper bool) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	s := hex.EncodeToString(b)
	if upper {
		return strings.ToUpper(s)
	}
	return s
}

// md5GUID is BaseExtensions.GetMD5: MD5 of the UTF-16LE string read into a
// .NET Guid, whose first three fields are little-endian. Session ids are
// made this way from Client+DeviceId (§5).
func md5GUID(s string) string {
	units := utf16.Encode([]rune(s))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(buf[2*i:], u)
	}
	sum := md5.Sum(buf) //nolint:gosec // see the import: an id, not a secret
	g := sum
	g[0], g[1], g[2], g[3] = sum[3], sum[2], sum[1], sum[0]
	g[4], g[5] = sum[5], sum[4]
	g[6], g[7] = sum[7], sum[6]
	return hex.EncodeToString(g[:])
}

// parseGUID accepts the forms .NET's Guid parser accepts for ids in routes
// and queries ("N", "D", "B", "P") and returns the "N" form.
func parseGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 38 && (s[0] == '{' && s[37] == '}' || s[0] == '(' && s[37] == ')') {
		s = s[1:37]
	}
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", false
	}
	return strings.ToLower(s), true
}

// dictionaryKeys names properties whose values are .NET dictionaries: their
// keys are data, so the camelCase policy leaves them alone.
var dictionaryKeys = map[string]bool{"ImageTags": true, "ProviderIds": true, "errors": true}

// camelName is System.Text.Json's JsonNamingPolicy.CamelCase: lower-case the
// leading run of upper-case letters, keeping the last one of a run that is
// followed by a lower-case letter ("ServerId" → "serverId", "IPAddress" →
// "ipAddress").
func camelName(s string) string {
	r := []rune(s)
	if len(r) == 0 || !isUpper(r[0]) {
		return s
	}
	for i := range r {
		if i == 1 && !isUpper(r[i]) {
			break
		}
		if i > 0 && i+1 < len(r) && !isUpper(r[i+1]) {
			if r[i+1] == ' ' {
				r[i] = toLower(r[i])
			}
			break
		}
		r[i] = toLower(r[i])
	}
	return string(r)
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

func toLower(r rune) rune {
	if isUpper(r) {
		return r + 'a' - 'A'
	}
	return r
}

// jsonFrame is one open object or array while camelJSON walks a document.
type jsonFrame struct {
	object bool
	dict   bool
	n      int
	key    bool // the next string token is a property name
}

// camelJSON rewrites the property names of a PascalCase document the way
// Jellyfin's CamelCase profile formatter would have named them (§1).
func camelJSON(in []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var out bytes.Buffer
	var stack []jsonFrame
	nextDict := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			out.WriteByte(byte(d)) //nolint:gosec // a JSON delimiter is one of {}[]
			stack = stack[:len(stack)-1]
			valueDone(stack)
			continue
		}
		writeSeparator(&out, stack)
		if len(stack) > 0 && stack[len(stack)-1].key {
			name := tok.(string)
			top := &stack[len(stack)-1]
			nextDict = dictionaryKeys[name]
			if !top.dict {
				name = camelName(name)
			}
			writeJSONString(&out, name)
			top.key = false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			out.WriteByte(byte(d)) //nolint:gosec // a JSON delimiter is one of {}[]
			stack = append(stack, jsonFrame{object: d == '{', dict: nextDict, key: d == '{'})
			nextDict = false
			continue
		}
		writeScalar(&out, tok)
		nextDict = false
		valueDone(stack)
	}
}

// writeSeparator writes the comma or colon that precedes the next token.
func writeSeparator(out *bytes.Buffer, stack []jsonFrame) {
	if len(stack) == 0 {
		return
	}
	top := stack[len(stack)-1]
	switch {
	case top.object && !top.key:
		out.WriteByte(':')
	case top.n > 0:
		out.WriteByte(',')
	}
}

// valueDone records that the innermost container received a complete value.
func valueDone(stack []jsonFrame) {
	if len(stack) == 0 {
		return
	}
	top := &stack[len(stack)-1]
	top.n++
	top.key = top.object
}

func writeScalar(out *bytes.Buffer, tok json.Token) {
	switch v := tok.(type) {
	case string:
		writeJSONString(out, v)
	case json.Number:
		out.WriteString(v.String())
	case bool:
		out.WriteString(strconv.FormatBool(v))
	default:
		out.WriteString("null")
	}
}

func writeJSONString(out *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	out.Write(b)
}
