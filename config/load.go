package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// loadFile overlays c with the settings in the YAML file at path.
//
// The file is read as a YAML node tree rather than decoded into a struct, so
// that each value goes through the same setter as its environment variable
// and every error names the key and its line. Unknown and repeated keys are
// refused, as yaml.Decoder.KnownFields would refuse them.
func loadFile(c *Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()

	dec := yaml.NewDecoder(f)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file, or only comments
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: want a single YAML document", path)
	}
	if err := applyDocument(c, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// applyDocument overlays c with the mapping at the top of doc.
func applyDocument(c *Config, doc *yaml.Node) error {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return errors.New("want a YAML mapping of settings")
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null" {
		return nil // "---" or "~" alone: no settings
	}
	if top.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of settings (key: value), got %s", top.Line, kindName(top))
	}

	byKey := make(map[string]setting)
	for _, s := range settings(c) {
		byKey[s.key] = s
	}
	seen := make(map[string]int) // key -> line
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: want a setting name as key, got %s", k.Line, kindName(k))
		}
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("line %d: %s: already set on line %d", k.Line, k.Value, first)
		}
		seen[k.Value] = k.Line
		if k.Value == attributesKey {
			// The one setting that is a list, not a value.
			if err := decodeAttributes(&c.Attributes, v); err != nil {
				return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
			}
			continue
		}
		s, ok := byKey[k.Value]
		if !ok {
			return fmt.Errorf("line %d: unknown setting %q", k.Line, k.Value)
		}

		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s: want a single value, got %s", v.Line, k.Value, kindName(v))
		}
		text := v.Value
		if v.ShortTag() == "!!null" {
			text = "" // "key:" or "key: ~"
		}
		if err := s.set(text); err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
		}
	}
	return nil
}

// kindName names a YAML node kind for error messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a " + n.ShortTag() + " value"
	}
}

// stringSetter returns a setter that stores the text unchanged.
func stringSetter(p *string) func(string) error {
	return func(s string) error {
		*p = s
		return nil
	}
}

// boolSetter returns a setter that parses the text with strconv.ParseBool.
func boolSetter(p *bool) func(string) error {
	return func(s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false (got %q)", s)
		}
		*p = b
		return nil
	}
}

// durationSetter returns a setter that parses the text with
// time.ParseDuration, so a unit is required except for "0".
func durationSetter(p *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf(`want a duration with a unit, such as "90s", "5m" or "1h" (got %q)`, s)
		}
		*p = d
		return nil
	}
}

// int64Setter returns a setter that parses the text as a decimal integer.
func int64Setter(p *int64) func(string) error {
	return func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number (got %q)", s)
		}
		*p = n
		return nil
	}
}
