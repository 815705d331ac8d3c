package tokens

import "time"

// DefaultMaxCached bounds the resolutions the table remembers when
// Options.MaxCached is 0. A resolution costs a few hundred bytes, so the
// bound keeps a flood of random tokens to a few megabytes, while a server's
// adopted tokens in use at once stay far below it.
const DefaultMaxCached = 10000

// The table holds two kinds of entries. Records (tokens the gateway
// released, revoked or loaded from the store, API keys it stored, its own
// key) never expire and are never evicted: they are what the gateway knows.
// Cached resolutions (what Jellyfin answered about a token the table did
// not know: unknown, adopted, refused) carry an expiry, and also sit in a
// recency list, most recently used first, so that the table forgets the
// oldest when it holds too many and drops the expired ones on every sweep.
// Anyone may send any number of made-up tokens; without both, each would
// stay in memory for good.
//
// Lock order: Table.mu, then Table.lruMu. An entry's elem is guarded by
// lruMu and is nil for records and for entries that have left the list.

// cached reports whether e is a cached resolution rather than a record.
// The caller holds t.mu.
func (e *entry) cached() bool { return !e.expires.IsZero() }

// used moves a cached entry to the front of the recency list.
func (t *Table) used(e *entry) {
	t.lruMu.Lock()
	if e.elem != nil {
		t.lru.MoveToFront(e.elem)
	}
	t.lruMu.Unlock()
}

// cacheLocked adds e as the cached resolution of its hash, replacing old
// (which may be nil), and evicts the least recently used resolutions beyond
// the bound. The caller holds t.mu for writing.
func (t *Table) cacheLocked(e, old *entry) {
	t.lruMu.Lock()
	defer t.lruMu.Unlock()
	if old != nil {
		t.unlinkLocked(old)
	}
	t.entries[e.verdict.Hash] = e
	e.elem = t.lru.PushFront(e)
	for t.lru.Len() > t.maxCached {
		t.evictLocked(t.lru.Back().Value.(*entry))
	}
}

// unlinkLocked takes e off the recency list, as when it becomes a record.
// The caller holds t.mu for writing and t.lruMu.
func (t *Table) unlinkLocked(e *entry) {
	if e.elem != nil {
		t.lru.Remove(e.elem)
		e.elem = nil
	}
}

// evictLocked forgets a cached entry. The map may meanwhile hold a newer
// entry for the hash (a record put there directly); that one stays. The
// caller holds t.mu for writing and t.lruMu.
func (t *Table) evictLocked(e *entry) {
	t.unlinkLocked(e)
	if t.entries[e.verdict.Hash] == e {
		delete(t.entries, e.verdict.Hash)
	}
}

// sweep forgets the cached resolutions that have expired and returns how
// many it dropped. Expired entries already answer as unknown; this gives
// their memory back.
func (t *Table) sweep(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lruMu.Lock()
	defer t.lruMu.Unlock()
	n := 0
	for el := t.lru.Back(); el != nil; {
		prev := el.Prev()
		if e := el.Value.(*entry); now.After(e.expires) {
			t.evictLocked(e)
			n++
		}
		el = prev
	}
	return n
}

// Size is what the table holds: records (released, revoked and stored
// tokens, never dropped) and cached resolutions (bounded, and dropped when
// they expire).
type Size struct {
	Records, Cached int
}

// Size returns how many entries of each kind the table holds.
func (t *Table) Size() Size {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var sz Size
	for _, e := range t.entries {
		if e.cached() {
			sz.Cached++
		} else {
			sz.Records++
		}
	}
	return sz
}
