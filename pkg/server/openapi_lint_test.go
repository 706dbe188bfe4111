package server_test

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPIHasNoStrayKeys catches, offline, the mistake `redocly lint`
// reports as "Property ... is not expected here": a comma in an unquoted
// flow-mapping value ({ description: a, b }) makes YAML read the rest as a
// key of its own. No key of the document holds a space or ends with a
// full stop, so one that does is such a fragment. Every tag is described,
// too.
func TestOpenAPIHasNoStrayKeys(t *testing.T) {
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; strings.Contains(k.Value, " ") || strings.HasSuffix(k.Value, ".") {
					t.Errorf("docs/openapi.yaml:%d: key %q: quote the value before it", k.Line, k.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)

	var root struct {
		Tags []struct {
			Name        string `yaml:"name"`
			Description string `yaml:"description"`
		} `yaml:"tags"`
	}
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	if len(root.Tags) == 0 {
		t.Fatal("no tags")
	}
	for _, tag := range root.Tags {
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
	}
}
