package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/gateway"
)

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print jellyguard's version",
		Long: `Print jellyguard's version and the Go toolchain and platform it was built for.
Include this line when reporting a problem.`,
		Example: "  jellyguard version",
		Args:    positional(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.stdout, "jellyguard %s (%s %s/%s)\n",
				gateway.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
