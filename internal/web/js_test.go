package web

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// node returns the node binary. The scripts are part of the product, so a
// machine without node fails these tests rather than skipping them (the
// test command installs node's Debian package when it is missing).
func node(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the page scripts cannot be tested (apt-get install nodejs)")
	}
	return p
}

// TestJavaScriptSyntax checks every script, so that a syntax error fails
// the build rather than a browser.
func TestJavaScriptSyntax(t *testing.T) {
	bin := node(t)
	files, err := filepath.Glob("static/*.js")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := filepath.Glob("testdata/js/*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, tests...) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if out, err := exec.CommandContext(ctx, bin, "--check", f).CombinedOutput(); err != nil {
				t.Errorf("node --check %s: %v\n%s", f, err, out)
			}
		})
	}
}

// TestJavaScriptBehaviour runs the node:test suites in testdata/js against
// the scripts with a fake window, fetch and localStorage.
func TestJavaScriptBehaviour(t *testing.T) {
	bin := node(t)
	files, err := filepath.Glob("testdata/js/*.test.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no JavaScript tests")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"--test"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

// TestScriptsFindTheirElements checks that every element id a page script
// looks up exists in the page it is loaded by.
func TestScriptsFindTheirElements(t *testing.T) {
	lookups := regexp.MustCompile(`(?:\$|getElementById)\('([A-Za-z0-9_-]+)'\)`)
	for script, page := range map[string]string{
		"setup.js":     "setup.html",
		"handoff.js":   "handoff.html",
		"login.js":     "login.html",
		"challenge.js": "challenge.html",
	} {
		js, err := staticFS.ReadFile("static/" + script)
		if err != nil {
			t.Fatal(err)
		}
		html, err := templateFS.ReadFile("templates/" + page)
		if err != nil {
			t.Fatal(err)
		}
		ids := lookups.FindAllStringSubmatch(string(js), -1)
		if len(ids) == 0 {
			t.Errorf("%s looks up no elements", script)
		}
		for _, m := range ids {
			if !strings.Contains(string(html), `id="`+m[1]+`"`) {
				t.Errorf("%s looks up #%s, which %s lacks", script, m[1], page)
			}
		}
	}
	// The code and password prompts the setup script clones.
	html, _ := templateFS.ReadFile("templates/setup.html")
	for _, want := range []string{`class="prompt-label"`, `data-cancel`, `class="alert"`, `type="submit"`, `<template id="code-prompt">`,
		`<template id="password-prompt">`, `type="password"`, `autocomplete="current-password"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("setup.html lacks %s", want)
		}
	}
}
