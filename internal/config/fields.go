package config

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvPrefix starts the name of every environment variable that overrides a
// key: JELLYGUARD_ plus the key path in capitals, dots as underscores.
const EnvPrefix = "JELLYGUARD_"

// leaf is one settable key of Config. The file decoder, the environment and
// the flags all find keys through this table, so a field added to Config
// gets its environment variable without further code.
type leaf struct {
	key   string // dotted YAML path, "tokens.cache_ttl"
	env   string // "JELLYGUARD_TOKENS_CACHE_TTL"
	index []int  // reflect field index path from Config
	typ   reflect.Type
}

// leaves lists every key of Config in declaration order.
var leaves = sync.OnceValue(func() []leaf {
	return collectLeaves(reflect.TypeFor[Config](), "", nil)
})

func collectLeaves(t reflect.Type, prefix string, index []int) []leaf {
	var out []leaf
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		key := joinKey(prefix, name)
		idx := append(slices.Clone(index), i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, collectLeaves(f.Type, key, idx)...)
			continue
		}
		out = append(out, leaf{key: key, env: envName(key), index: idx, typ: f.Type})
	}
	return out
}

// yamlName is the key a struct field is read from, or "" when the field is
// not part of the file (unexported or tagged "-").
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

// fieldByName finds the field of struct type t read from key name.
func fieldByName(t reflect.Type, name string) (int, bool) {
	for i := range t.NumField() {
		if yamlName(t.Field(i)) == name {
			return i, true
		}
	}
	return 0, false
}

// keyNames lists the keys a struct type accepts, for suggestions.
func keyNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// leafByKey finds the leaf for a dotted key path.
func leafByKey(key string) (leaf, bool) {
	i := slices.IndexFunc(leaves(), func(l leaf) bool { return l.key == key })
	if i < 0 {
		return leaf{}, false
	}
	return leaves()[i], true
}

// value returns the settable field of c that l describes.
func (c *Config) value(l leaf) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(l.index)
}

var durationType = reflect.TypeFor[time.Duration]()

// setText parses s into v the same way for the file, the environment and
// the flags, so a value means the same wherever it is written.
func setText(v reflect.Value, s string) error {
	if v.Type() == durationType {
		return setDuration(v, s)
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q (use true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(n)
	case reflect.Slice:
		return setList(v, splitList(s))
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

func setDuration(v reflect.Value, s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseInt(s, 10, 64); nerr == nil {
			return fmt.Errorf("invalid duration %q (missing unit, e.g. %q)", s, s+"s")
		}
		return fmt.Errorf("invalid duration %q", s)
	}
	v.SetInt(int64(d))
	return nil
}

// setList stores items into a []string field; an empty list is stored as
// nil, the same as an unset one.
func setList(v reflect.Value, items []string) error {
	if v.Type().Elem().Kind() != reflect.String {
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	if len(items) == 0 {
		v.SetZero()
		return nil
	}
	v.Set(reflect.ValueOf(items).Convert(v.Type()))
	return nil
}

// splitList reads a comma-separated list, the form lists take in the
// environment and on the command line.
func splitList(s string) []string {
	return trimItems(strings.Split(s, ","))
}

// trimItems trims each item and drops blank ones.
func trimItems(items []string) []string {
	out := []string{}
	for _, item := range items {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// applyEnv overrides every key whose JELLYGUARD_ variable is set and not
// empty. A bad value is reported with the variable's name.
func (c *Config) applyEnv(env func(string) string) []error {
	var errs []error
	for _, l := range leaves() {
		s := env(l.env)
		if s == "" {
			continue
		}
		if err := setText(c.value(l), s); err != nil {
			errs = append(errs, &problem{where: l.env, key: l.key, err: err})
			continue
		}
		c.setBy(l.key, origin{layer: layerEnv, where: l.env})
	}
	return errs
}

// exclusive pairs keys of which only one may be set. A higher layer setting
// one of them clears the other when it came from a lower layer, so that
// JELLYGUARD_API_KEY_FILE replaces an api_key written in the file.
var exclusive = [][2]string{{"api_key", "api_key_file"}}

// setBy records that key was set at org and clears its exclusive partner
// when that was set at a lower layer.
func (c *Config) setBy(key string, org origin) {
	c.origins.set(key, org)
	for _, pair := range exclusive {
		for i, k := range pair {
			if k != key {
				continue
			}
			other := pair[1-i]
			if c.origins.lookup(other).layer >= org.layer {
				continue
			}
			if l, ok := leafByKey(other); ok {
				c.value(l).SetZero()
				delete(c.origins, other)
			}
		}
	}
}
