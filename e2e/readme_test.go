package e2e

// Tests of what README.md tells a newcomer: the build and install commands
// make a binary that runs, every link leads to a file, every command in the
// command table exists with the flags the table names, and no sentence
// promises what is not there yet.

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const readmePath = "../README.md"

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text of the "## title" section.
func section(t *testing.T, text, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", title)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// goCommand runs go with args in the repository root and extra environment.
func goCommand(t *testing.T, env []string, args ...string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, out)
	}
}

// runsVersion checks that bin runs and prints its version.
func runsVersion(t *testing.T, bin string) {
	t.Helper()
	res := runDeployTool(t, nil, bin, "version")
	if res.code != 0 || !strings.Contains(res.stdout, "jellyguard") {
		t.Errorf("%s version: exit %d, stdout %q, stderr %q", bin, res.code, res.stdout, res.stderr)
	}
}

// TestReadmeInstall runs the README's build command (into a temporary
// directory instead of bin/) and its go install, and checks what they made.
func TestReadmeInstall(t *testing.T) {
	text := readme(t)
	install := section(t, text, "Install")
	build := regexp.MustCompile("(?m)^CGO_ENABLED=0 go (build -trimpath -o bin/jellyguard ./cmd/jellyguard)$").FindStringSubmatch(install)
	if build == nil {
		t.Fatalf("the Install section has no `CGO_ENABLED=0 go build … -o bin/jellyguard ./cmd/jellyguard` line:\n%s", install)
	}
	if !strings.Contains(install, "install -m 0755 bin/jellyguard /usr/local/bin/jellyguard") {
		t.Errorf("the Install section does not install the binary it builds")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "jellyguard")
	args := strings.Fields(strings.Replace(build[1], "bin/jellyguard", out, 1))
	goCommand(t, []string{"CGO_ENABLED=0"}, args...)
	runsVersion(t, out)
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the README's CGO_ENABLED=0 build is dynamically linked (it has an ELF interpreter), but the README calls it static")
		}
	}

	// The compose file's comment builds it the same way.
	compose, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(compose), "CGO_ENABLED=0 go build -trimpath -o jellyguard ./cmd/jellyguard") {
		t.Errorf("deploy/compose.yaml's comment does not build the binary the way the README does")
	}

	if !strings.Contains(install, "`go install\n./cmd/jellyguard` installs it into `$GOBIN`") {
		t.Fatalf("the Install section does not say where go install puts the binary:\n%s", install)
	}
	gobin := t.TempDir()
	goCommand(t, []string{"GOBIN=" + gobin}, "install", "./cmd/jellyguard")
	runsVersion(t, filepath.Join(gobin, "jellyguard"))
}

// TestReadmeLinks: every relative link of README.md leads to a file or
// directory of the repository, and every #anchor to a heading.
func TestReadmeLinks(t *testing.T) {
	text := readme(t)
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(text, -1) {
		headings[strings.ReplaceAll(strings.ToLower(m[1]), " ", "-")] = true
	}
	links := regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(text, -1)
	var deploy bool
	for _, m := range links {
		target := m[1]
		switch {
		case strings.HasPrefix(target, "http://"), strings.HasPrefix(target, "https://"):
		case strings.HasPrefix(target, "#"):
			if !headings[target[1:]] {
				t.Errorf("README.md links to %s, which is no heading", target)
			}
		default:
			if _, err := os.Stat(filepath.Join("..", target)); err != nil {
				t.Errorf("README.md links to %s: %v", target, err)
			}
			deploy = deploy || strings.TrimSuffix(target, "/") == "deploy"
		}
	}
	if !deploy {
		t.Error("README.md does not link to deploy/")
	}
}

// TestReadmeCommandTable: every command in the "Command line" table exists,
// and the flags its row names are its flags.
func TestReadmeCommandTable(t *testing.T) {
	table := section(t, readme(t), "Command line")
	rows := regexp.MustCompile("(?m)^\\| `jellyguard ([^`]+)` \\| (.+) \\|$").FindAllStringSubmatch(table, -1)
	if len(rows) < 10 {
		t.Fatalf("the Command line table has %d commands:\n%s", len(rows), table)
	}
	flag := regexp.MustCompile("`(--[a-z-]+)")
	for _, row := range rows {
		for _, words := range expandAlternatives(row[1]) {
			res := runDeployTool(t, nil, binPath, append(words, "--help")...)
			if res.code != 0 || strings.Contains(res.stderr, "unknown command") {
				t.Errorf("jellyguard %s --help: exit %d, stderr %q", strings.Join(words, " "), res.code, res.stderr)
				continue
			}
			if !strings.Contains(res.stdout, "jellyguard "+strings.Join(words, " ")) {
				t.Errorf("jellyguard %s --help is not that command's help:\n%s", strings.Join(words, " "), res.stdout)
			}
			for _, f := range flag.FindAllStringSubmatch(row[2], -1) {
				if !strings.Contains(res.stdout, f[1]+" ") {
					t.Errorf("the README says jellyguard %s has %s; its help does not list it", strings.Join(words, " "), f[1])
				}
			}
		}
	}
}

// expandAlternatives turns "ban list\|add\|remove NAME" into the command
// words of each alternative: [ban list] [ban add] [ban remove]. Arguments
// (upper case, or starting with [ or -) end the command words.
func expandAlternatives(spec string) [][]string {
	var words []string
	for _, w := range strings.Fields(spec) {
		if w == strings.ToUpper(w) || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "-") {
			break
		}
		words = append(words, w)
	}
	if len(words) == 0 {
		return nil
	}
	last := words[len(words)-1]
	var out [][]string
	for _, alt := range strings.Split(last, `\|`) {
		out = append(out, append(append([]string{}, words[:len(words)-1]...), alt))
	}
	return out
}

// TestReadmePromisesNothingForLater: the README describes what the binary
// does now.
func TestReadmePromisesNothingForLater(t *testing.T) {
	for _, stale := range []string{"come next", "comes next", "coming soon", "not yet", "TODO", "will be added"} {
		if strings.Contains(strings.ToLower(readme(t)), strings.ToLower(stale)) {
			t.Errorf("README.md says %q", stale)
		}
	}
}
