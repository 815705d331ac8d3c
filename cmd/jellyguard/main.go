// Command jellyguard is a security gateway in front of a Jellyfin server.
// Run "jellyguard --help" for the commands.
package main

import (
	"os"

	"github.com/jellyguard/jellyguard/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
