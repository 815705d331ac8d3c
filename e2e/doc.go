// Package e2e holds jellyguard's end-to-end tests. They build the jellyguard
// binary, start `jellyguard demo` (the gateway in front of the built-in
// Jellyfin emulator) as a separate process, and drive it from the outside:
// with the real @jellyfin/sdk from npm, with raw HTTP, with headless
// Chromium (Debian's, through playwright-core) on the web client, and with
// the CLI working on the demo's database while the demo runs.
//
// Run them with `go test ./e2e/`. See README.md in this directory.
package e2e
