package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// none marks an empty cell, so a blank never reads as a misaligned column.
const none = "—"

// errWriter remembers the first write error, so that a block of output
// (a banner, a report) can be written line by line and checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// say writes a message to stderr. If stderr itself fails there is no one
// left to tell, so the error is dropped on purpose.
func say(w io.Writer, format string, a ...any) {
	_, _ = fmt.Fprintf(w, format, a...)
}

// closeInto closes c and adds its error to *err, so that a failed close (the
// database writing back its journal, a log file on a full disk) is reported
// instead of lost. Use it deferred, with a named error result.
func closeInto(err *error, c io.Closer) {
	*err = errors.Join(*err, c.Close())
}

// closerFunc makes a function an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// writeJSON prints v as one line of JSON, the form --json promises scripts.
func writeJSON(w io.Writer, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// table writes aligned columns. Flush must be called at the end; it
// reports the first error.
type table struct {
	tw  *tabwriter.Writer
	out errWriter
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.out.w = t.tw
	t.row(header...)
	return t
}

// row writes one line. Tabs and newlines inside a cell (a device name is
// chosen by whoever signed in) are replaced so they cannot break the layout.
func (t *table) row(cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = cell(c)
	}
	t.out.printf("%s\n", strings.Join(clean, "\t"))
}

func (t *table) Flush() error {
	if err := errors.Join(t.out.err, t.tw.Flush()); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

// cell makes attacker-chosen text safe for a terminal table: control
// characters (tabs, newlines, escape sequences) become spaces, and an empty
// value becomes a dash.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if strings.TrimSpace(s) == "" {
		return none
	}
	return s
}

// formatTime shows a time in local time to the minute, or a dash for never.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return none
	}
	return t.Local().Format("2006-01-02 15:04")
}

// jsonTime is a time for JSON output: RFC 3339, or null for never.
func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// yesNo renders a boolean table cell.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// report prints check results, one a line, with a marker in front: ✔ for
// fine, ✘ for a problem that must be fixed, ! for something to know.
// Colour is used only on a terminal, so redirected output stays plain.
type report struct {
	out    errWriter
	color  bool
	failed bool
}

func newReport(w io.Writer, color bool) *report {
	return &report{out: errWriter{w: w}, color: color}
}

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

func (r *report) ok(format string, a ...any) { r.line(green, "✔", format, a...) }

func (r *report) warn(format string, a ...any) { r.line(yellow, "!", format, a...) }

// fail reports a problem; the command then exits 1.
func (r *report) fail(format string, a ...any) {
	r.failed = true
	r.line(red, "✘", format, a...)
}

// detail continues the previous line with an explanation or a fix.
func (r *report) detail(format string, a ...any) {
	r.out.printf("    %s\n", fmt.Sprintf(format, a...))
}

func (r *report) line(color, mark, format string, a ...any) {
	if r.color {
		mark = color + mark + reset
	}
	r.out.printf("%s %s\n", mark, fmt.Sprintf(format, a...))
}

// useColor reports whether w is a terminal and the user has not asked for
// plain output with NO_COLOR (https://no-color.org).
func useColor(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
