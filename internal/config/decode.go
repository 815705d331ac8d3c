package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	yaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// decoder reads a parsed YAML file into a Config by walking goccy's AST.
// Walking the tree ourselves (instead of yaml.Unmarshal with
// DisallowUnknownField, which stops at the first problem) lets one run report
// every unknown key and bad value with its line and column, and parse values
// with the same rules as the environment and the flags.
type decoder struct {
	file    string
	cfg     *Config
	anchors map[string]ast.Node
	aliases []*ast.AliasNode
	errs    []error
}

// decodeYAML reads data, the contents of file, over c.
func (c *Config) decodeYAML(file string, data []byte) []error {
	f, err := parseYAML(data)
	if err != nil {
		return []error{syntaxProblem(file, err)}
	}
	d := &decoder{file: file, cfg: c, anchors: map[string]ast.Node{}}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			d.fail(doc.Body, "", errors.New("only one YAML document is allowed"))
			continue
		}
		body = doc.Body
	}
	if body == nil {
		return nil
	}
	ast.Walk(d, body)
	d.checkAliases()
	d.decodeStruct(reflect.ValueOf(c).Elem(), body, "")
	return d.errs
}

// maxNesting bounds how deeply flow collections, or the entries of one
// line ("- - - x"), may nest. A real config nests three levels; goccy's
// parser slows quadratically with depth, so a pathological file is refused
// before parsing rather than hanging the start.
const maxNesting = 64

// parseYAML parses data, turning a panic inside the YAML library on
// malformed input into an error: a bad file must produce a message, not a
// crash.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("cannot parse YAML: %v", r)
		}
	}()
	tokens := lexer.Tokenize(string(data))
	if tk := tooDeep(tokens); tk != nil {
		return nil, &yaml.SyntaxError{Message: fmt.Sprintf("nested more than %d levels deep", maxNesting), Token: tk}
	}
	return parser.Parse(tokens, 0)
}

// tooDeep returns the first token nested deeper than maxNesting, or nil.
func tooDeep(tokens token.Tokens) *token.Token {
	flow, line, onLine := 0, 0, 0
	for _, tk := range tokens {
		if tk.Position != nil && tk.Position.Line != line {
			line, onLine = tk.Position.Line, 0
		}
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			flow--
		case token.SequenceEntryType, token.MappingKeyType:
			onLine++
		}
		if flow > maxNesting || onLine > maxNesting {
			return tk
		}
	}
	return nil
}

// syntaxProblem renders a goccy parse error as "file:line:col: message".
func syntaxProblem(file string, err error) error {
	var yerr yaml.Error
	if errors.As(err, &yerr) && yerr.GetToken() != nil {
		pos := yerr.GetToken().Position
		return &problem{
			where: fmt.Sprintf("%s:%d:%d", file, pos.Line, pos.Column),
			err:   errors.New(yerr.GetMessage()),
		}
	}
	return &problem{where: file, err: err}
}

// Visit collects anchors and aliases so that aliases can be resolved
// wherever they are used; it implements ast.Visitor.
func (d *decoder) Visit(n ast.Node) ast.Visitor {
	switch v := n.(type) {
	case *ast.AnchorNode:
		if name := nodeName(v.Name); name != "" {
			d.anchors[name] = v.Value
		}
	case *ast.AliasNode:
		d.aliases = append(d.aliases, v)
	}
	return d
}

// checkAliases reports aliases that name no anchor; the key using one then
// keeps its default.
func (d *decoder) checkAliases() {
	for _, a := range d.aliases {
		if _, ok := d.anchors[nodeName(a.Value)]; !ok {
			d.fail(a, "", fmt.Errorf("alias *%s refers to no anchor", nodeName(a.Value)))
		}
	}
}

// nodeName is the text of an anchor's or alias's name node.
func nodeName(n ast.Node) string {
	if n == nil || n.GetToken() == nil {
		return ""
	}
	return n.GetToken().Value
}

// resolve looks through tags, anchors and aliases to the node that holds the
// value. The loop is bounded so that an alias cycle cannot hang the load.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 16 {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			n = d.anchors[nodeName(v.Value)]
		default:
			return n
		}
	}
	return nil
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

// decodeStruct reads a mapping into the struct v. A key with no value
// ("tokens:") keeps the defaults.
func (d *decoder) decodeStruct(v reflect.Value, n ast.Node, prefix string) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	m, ok := n.(ast.MapNode)
	if !ok {
		d.fail(n, prefix, fmt.Errorf("expected a mapping of keys, got %s", describe(n)))
		return
	}
	for it := m.MapRange(); it.Next(); {
		d.decodeEntry(v, it.Key(), it.Value(), prefix)
	}
}

// decodeEntry reads one "key: value" of a mapping into the struct v.
func (d *decoder) decodeEntry(v reflect.Value, k ast.MapKeyNode, val ast.Node, prefix string) {
	if _, ok := k.(*ast.MergeKeyNode); ok {
		d.fail(k, prefix, errors.New("merge keys (<<) are not supported"))
		return
	}
	name, ok := scalarText(k)
	if !ok {
		d.fail(k, prefix, errors.New("keys must be plain names"))
		return
	}
	i, ok := fieldByName(v.Type(), name)
	if !ok {
		d.fail(k, "", unknownKey(name, keyNames(v.Type())))
		return
	}
	d.decodeValue(v.Field(i), val, joinKey(prefix, name))
}

// unknownKey explains a key the config does not have, suggesting the
// nearest real key when the difference looks like a typo.
func unknownKey(name string, known []string) error {
	if s := suggest(name, known); s != "" {
		return fmt.Errorf("unknown key %q (did you mean %q?)", name, s)
	}
	return fmt.Errorf("unknown key %q", name)
}

// decodeValue reads n into the field f found at key. Null keeps the default.
func (d *decoder) decodeValue(f reflect.Value, n ast.Node, key string) {
	v := d.resolve(n)
	if isNull(v) {
		return
	}
	switch f.Kind() {
	case reflect.Struct:
		d.decodeStruct(f, v, key)
	case reflect.Slice:
		d.decodeList(f, v, key)
	default:
		d.decodeScalar(f, v, key, useSite(n, v))
	}
}

// useSite is the node to report for a value: where an alias is used rather
// than where its anchor was defined.
func useSite(n, resolved ast.Node) ast.Node {
	if _, ok := n.(*ast.AliasNode); ok {
		return n
	}
	return resolved
}

func (d *decoder) decodeScalar(f reflect.Value, n ast.Node, key string, at ast.Node) {
	s, ok := scalarText(n)
	if !ok {
		d.fail(at, key, fmt.Errorf("expected a single value, got %s", describe(n)))
		return
	}
	if err := setText(f, s); err != nil {
		d.fail(at, key, err)
		return
	}
	d.cfg.setBy(key, origin{layer: layerFile, where: d.pos(at)})
}

// decodeList reads a YAML list into a []string field, recording each item's
// position. A single value is read as a comma-separated list, as in the
// environment, so "trusted_proxies: cloudflare" works too.
func (d *decoder) decodeList(f reflect.Value, n ast.Node, key string) {
	if s, ok := scalarText(n); ok {
		if err := setList(f, splitList(s)); err != nil {
			d.fail(n, key, err)
			return
		}
		d.cfg.setBy(key, origin{layer: layerFile, where: d.pos(n)})
		return
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.fail(n, key, fmt.Errorf("expected a list, got %s", describe(n)))
		return
	}
	items, where, ok := d.listItems(seq, key)
	if !ok {
		return
	}
	if err := setList(f, items); err != nil {
		d.fail(n, key, err)
		return
	}
	d.cfg.setBy(key, origin{layer: layerFile, where: d.pos(n)})
	for i, w := range where {
		d.cfg.origins[fmt.Sprintf("%s[%d]", key, i)] = origin{layer: layerFile, where: w}
	}
}

// listItems returns the text and position of each item of seq, or false
// when an item is not a single value (the list then keeps its default, as a
// bad scalar does). An empty item is kept as "" so that indexes in later
// errors match the file.
func (d *decoder) listItems(seq *ast.SequenceNode, key string) (items, where []string, ok bool) {
	items, where, ok = []string{}, []string{}, true
	for i, raw := range seq.Values {
		item := d.resolve(raw)
		at := orNode(useSite(raw, item), seq)
		s, isScalar := scalarText(item)
		if !isScalar && !isNull(item) {
			d.fail(at, fmt.Sprintf("%s[%d]", key, i), fmt.Errorf("expected a single value, got %s", describe(item)))
			ok = false
			continue
		}
		items = append(items, s)
		where = append(where, d.pos(at))
	}
	return items, where, ok
}

func orNode(n, fallback ast.Node) ast.Node {
	if n == nil {
		return fallback
	}
	return n
}

// scalarText is the text of a scalar as written. Numbers keep their
// spelling, so "header_precedence: 10.10" stays "10.10" and an API key of
// digits keeps its leading zeros.
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	}
	return "", false
}

// describe names a node's kind for "expected X, got Y" messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case ast.MapNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	if s, ok := scalarText(n); ok {
		return fmt.Sprintf("%q", shorten(s))
	}
	return "an unsupported value"
}

// shorten cuts s to a length that fits in an error message.
func shorten(s string) string {
	const maxLen = 60
	if r := []rune(s); len(r) > maxLen {
		return string(r[:maxLen]) + "…"
	}
	return s
}

// fail records a problem at n's position.
func (d *decoder) fail(n ast.Node, key string, err error) {
	d.errs = append(d.errs, &problem{where: d.pos(n), key: key, err: err})
}

// pos renders n's position as "file:line:col". A mapping is placed at its
// first key rather than at goccy's token for it (the first colon).
func (d *decoder) pos(n ast.Node) string {
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 && !m.IsFlowStyle {
			n = m.Values[0].Key
		}
	case *ast.MappingValueNode:
		n = m.Key
	}
	if n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return d.file
	}
	p := n.GetToken().Position
	return fmt.Sprintf("%s:%d:%d", d.file, p.Line, p.Column)
}

// suggest returns the name in known closest to name when it is at most two
// edits away (ignoring case), or "".
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
