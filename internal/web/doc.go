// Package web serves the gateway's own pages under <base>/jellyguard/: the
// second-factor challenge that follows a jellyfin-web sign-in, a direct
// sign-in form, the hand-off that gives the browser its Jellyfin session the
// way jellyfin-web stores it, the setup page where people manage their
// second factor, devices and trusted browsers, and the JSON API behind it.
// It also provides the script the gateway injects into jellyfin-web.
//
// The package decides nothing about security itself: every decision is a
// call to a Service. It renders pages with html/template under a strict
// Content-Security-Policy (no inline script or style), refuses cross-origin
// state changes with http.CrossOriginProtection and serves its embedded
// static files under content-hashed names.
package web
