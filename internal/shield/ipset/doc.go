// Package ipset holds large sets of IP prefixes — FireHOL-style blocklists,
// static CIDR lists from the configuration — and answers "is this address
// in one of them, and which one" in well under a microsecond, so the network
// policy step can refuse a listed client before anything else is spent on it.
//
// A Set is immutable; a Manager builds a fresh one whenever a source changes
// and swaps it in atomically, so lookups never wait for a refresh. Sources
// are loaded at start-up (a source that cannot be read fails start-up, as an
// unnoticed empty blocklist would be worse than a refusal to start); at run
// time a refresh that fails keeps serving the last good copy and says so in
// the source's status.
package ipset
