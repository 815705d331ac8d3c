package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jellyguard/jellyguard/internal/store"
)

// lastConfigKey is the setting holding the flattened configuration the
// gateway last started with.
const lastConfigKey = "config.last"

// SecretDigest is how secret configuration values are kept for comparison:
// a keyed MAC, so a changed API key is noticed without being stored.
func (l *Log) SecretDigest(value string) string {
	return "mac:" + hex.EncodeToString(l.keys.MAC("config secret", []byte(value)))[:16]
}

// RecordConfig compares the configuration a gateway starts with (flattened:
// key → value, secrets already digested) with the one it last started with,
// and records one ConfigChanged event naming every key that differs (on the
// first start, one event saying so). It returns the changed keys; none on
// the first start.
func (l *Log) RecordConfig(ctx context.Context, flat map[string]string, isSecret func(key string) bool) ([]string, error) {
	prev, first, err := l.lastConfig(ctx)
	if err != nil {
		return nil, err
	}
	changed := diffKeys(prev, flat)
	if !first && len(changed) == 0 {
		return nil, nil
	}
	detail := "first start"
	if first {
		changed = nil
	} else {
		detail = describeChanges(prev, flat, changed, isSecret)
	}
	if _, err := l.Record(ctx, store.AuditEvent{Kind: ConfigChanged, Detail: detail}); err != nil {
		return nil, err
	}
	data, err := json.Marshal(flat)
	if err != nil {
		return nil, fmt.Errorf("encoding configuration: %w", err)
	}
	return changed, l.store.PutSetting(ctx, lastConfigKey, string(data))
}

func (l *Log) lastConfig(ctx context.Context) (map[string]string, bool, error) {
	raw, err := l.store.Setting(ctx, lastConfigKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	var prev map[string]string
	if err := json.Unmarshal([]byte(raw), &prev); err != nil {
		return nil, false, fmt.Errorf("reading the last configuration: %w", err)
	}
	return prev, false, nil
}

func diffKeys(prev, cur map[string]string) []string {
	var keys []string
	for k, v := range cur {
		if old, ok := prev[k]; !ok || old != v {
			keys = append(keys, k)
		}
	}
	for k := range prev {
		if _, ok := cur[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func describeChanges(prev, cur map[string]string, keys []string, isSecret func(string) bool) string {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if isSecret(k) {
			parts = append(parts, k+" changed")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s → %s", k, strconv.Quote(prev[k]), strconv.Quote(cur[k])))
	}
	return strings.Join(parts, "; ")
}
