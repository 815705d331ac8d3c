// Package fake is an in-process emulator of the authentication surface of a
// Jellyfin 10.11.11 server. It exists so that every gateway test can measure
// itself against something that behaves like the real server: the same
// routing (Kestrel path decoding, dot segments, legacy /emby prefixes,
// BaseUrl), the same credential parsing and precedence, the same login order
// and status codes, lockout, Quick Connect, sessions, devices, API keys,
// client-IP handling behind known proxies, WebSocket keep-alives and the same
// JSON shapes and log lines.
//
// Each behaviour follows reference/jellyfin-api.md (section numbers are
// cited in comments and test names) and, where that document is silent, the
// Jellyfin 10.11.11 and ASP.NET Core source it was written from.
//
// The package deliberately imports nothing else from this module: it is an
// independent second implementation of what the gateway's own Jellyfin code
// claims to understand, so a shared bug cannot hide in both.
package fake
