// Package jellyfin speaks Jellyfin for the gateway: it reads credentials and
// routes exactly the way Jellyfin 10.10/10.11 reads them, and it is a small
// client for the Jellyfin server behind the gateway.
//
// The gateway can only protect what it understands the way Jellyfin does. A
// token that Jellyfin would read but the gateway does not see, or a path that
// Jellyfin routes to a login but the gateway files under another class, is a
// bypass. So the parsers here follow Jellyfin's and ASP.NET Core's source
// rather than the HTTP specifications, quirks included, and where the two
// could disagree they err towards seeing more: Carriers lists every token
// any Jellyfin version might read, and Classify decodes more than Kestrel
// does so that no spelling of a login path escapes the login class.
//
// The package imports nothing else from the gateway.
package jellyfin
