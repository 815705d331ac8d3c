package config

import (
	"reflect"
	"strings"
	"testing"

	yaml "github.com/goccy/go-yaml"
)

func TestExampleLoadsToDefaults(t *testing.T) {
	c, err := Load(writeConfig(t, Example()), nil)
	if err != nil {
		t.Fatalf("Example does not load:\n%v", err)
	}
	if got, want := plain(*c), validDefault(t); !reflect.DeepEqual(got, want) {
		t.Errorf("Example differs from Default:\n%+v\nwant\n%+v", got, want)
	}
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	c, errs := load(writeConfig(t, Example()), nil)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, l := range leaves() {
		if _, ok := c.origins[l.key]; !ok {
			t.Errorf("Example has no %s", l.key)
		}
	}
	for i, line := range strings.Split(Example(), "\n") {
		if len(line) > 100 {
			t.Errorf("Example line %d is %d characters long", i+1, len(line))
		}
	}
}

// TestShownConfigLoadsBack checks that a Config printed as YAML (as
// `config show` does) is a valid config file with the same values.
func TestShownConfigLoadsBack(t *testing.T) {
	orig, err := Load("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(orig.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(writeConfig(t, string(out)), nil)
	if err != nil {
		t.Fatalf("shown config does not load:\n%s\n%v", out, err)
	}
	if !reflect.DeepEqual(plain(*back), plain(*orig)) {
		t.Errorf("round trip changed the config:\n%s", out)
	}
	if !strings.Contains(string(out), "login_body: 32KiB") {
		t.Errorf("sizes not shown with units:\n%s", out)
	}
}
