// Package cli is jellyguard's command line: serve, demo, check, and the
// offline admin commands (user, token, audit, config) that work on the data
// directory directly, so an admin locked out of every web page still has a
// way back in.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes. Scripts tell a mistyped command line (2) from a command that
// ran and failed (1).
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Main runs the command line with args (without the program name) and
// returns the process exit code. SIGINT and SIGTERM cancel the command's
// context, so serve, demo and audit tail --follow stop cleanly and exit 0.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, restore the default handling so that a second
	// Ctrl-C kills a shutdown that hangs.
	go func() {
		<-ctx.Done()
		stop()
	}()
	return run(ctx, args, os.Stdout, os.Stderr, os.Getenv)
}

// run is Main with its surroundings passed in, so tests drive the whole
// command line without touching the process's streams, environment or
// signals. getenv looks up JELLYGUARD_* variables (and NO_COLOR).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	a := newApp(stdout, stderr, getenv)
	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code) // the command already said why
	}
	say(stderr, "jellyguard: %v\n", err)
	var usage *usageError
	if errors.As(err, &usage) {
		if cmd == nil {
			cmd = root
		}
		say(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitError
}

// usageError is a mistake in the command line itself (an unknown flag or
// command, a missing argument); it exits 2 and points at --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// exitCode is returned by a command that has already printed its findings
// (check, audit verify) and only needs the process to exit with a code.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }
