package config

import (
	"maps"
	"strings"
)

// layer is one source of configuration. Later layers override earlier ones:
// flag > env > file > default.
type layer int

const (
	layerDefault layer = iota
	layerFile
	layerEnv
	layerFlag
)

// origin says where a key's value was set, so that a problem found later
// points the user at the line, variable or flag to fix.
type origin struct {
	layer layer
	where string // "config.yaml:7:14", "JELLYGUARD_LISTEN" or "--listen"
}

// origins maps a key path ("tokens.cache_ttl", "trusted_proxies[2]") to
// where its value came from. Keys absent from the map hold their default.
type origins map[string]origin

// set records where key was set. Positions recorded for the elements of an
// older value of key ("key[0]"…) are dropped: the new value replaced them.
func (o origins) set(key string, org origin) {
	maps.DeleteFunc(o, func(k string, _ origin) bool {
		return strings.HasPrefix(k, key+"[")
	})
	o[key] = org
}

// lookup returns where key was set. A list element without a position of
// its own ("trusted_proxies[2]" set from one environment variable) reports
// the position of the list.
func (o origins) lookup(key string) origin {
	if org, ok := o[key]; ok {
		return org
	}
	if i := strings.LastIndexByte(key, '['); i > 0 {
		return o[key[:i]]
	}
	return origin{}
}

// problem is one thing wrong with the configuration. It reads
// "where: key: what", leaving out the parts that are unknown, e.g.
// `config.yaml:7:14: tokens.cache_ttl: invalid duration "banana"`.
type problem struct {
	where string
	key   string
	err   error
}

func (p *problem) Error() string {
	var b strings.Builder
	for _, part := range []string{p.where, p.key} {
		if part != "" {
			b.WriteString(part)
			b.WriteString(": ")
		}
	}
	b.WriteString(p.err.Error())
	return b.String()
}

// Unwrap exposes the cause, e.g. fs.ErrNotExist for a missing key file.
func (p *problem) Unwrap() error { return p.err }
