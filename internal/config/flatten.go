package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// secretKeys are the keys whose values must never be shown or stored in
// clear.
var secretKeys = map[string]bool{"api_key": true}

// Flatten returns every key with its value as text ("tokens.cache_ttl" →
// "5m0s"), in a form that can be stored and compared between runs. Secret
// values are replaced by digest(value) (e.g. a keyed MAC), so a change of
// the API key is noticed without the key being written anywhere.
func (c *Config) Flatten(digest func(string) string) map[string]string {
	out := make(map[string]string, len(leaves()))
	for _, l := range leaves() {
		s := formatValue(c.value(l))
		if secretKeys[l.key] && s != "" {
			s = digest(s)
		}
		out[l.key] = s
	}
	return out
}

// IsSecret reports whether the key holds a secret.
func IsSecret(key string) bool { return secretKeys[key] }

func formatValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	case []string:
		return strings.Join(x, ",")
	}
	return fmt.Sprint(v.Interface())
}
