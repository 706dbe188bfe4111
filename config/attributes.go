package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
)

// attributesKey is the YAML key of the attribute declarations.
const attributesKey = "attributes"

// decodeAttributes decodes a YAML list of attribute declarations into
// dst, refusing keys a declaration does not have.
func decodeAttributes(dst *[]attributes.Declaration, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		*dst = nil
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("want a list of attribute declarations, got %s", kindName(n))
	}
	// Node.Decode cannot refuse unknown keys: decode the list again with
	// a decoder that can.
	text, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var out []attributes.Declaration
	if err := dec.Decode(&out); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	*dst = out
	return nil
}

// loadAttributesFile reads the declarations from AttributesFile, when it
// is set: a YAML file whose top level is the list. Declaring attributes
// both there and under the attributes key is an error.
func loadAttributesFile(c *Config) error {
	if c.AttributesFile == "" {
		return nil
	}
	if len(c.Attributes) > 0 {
		return errors.New("GATEHOUSE_ATTRIBUTES_FILE: attributes are declared in the configuration file too; declare them in one place")
	}
	text, err := os.ReadFile(c.AttributesFile)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_ATTRIBUTES_FILE: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return fmt.Errorf("GATEHOUSE_ATTRIBUTES_FILE %s: %w", c.AttributesFile, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil // an empty file declares nothing
	}
	if err := decodeAttributes(&c.Attributes, doc.Content[0]); err != nil {
		return fmt.Errorf("GATEHOUSE_ATTRIBUTES_FILE %s: %w", c.AttributesFile, err)
	}
	return nil
}

// AttributeSet returns the checked attribute declarations. Validate
// reports the same error, naming the attribute and its rule.
func (c Config) AttributeSet() (*attributes.Set, error) {
	return attributes.New(c.Attributes)
}

// attributeChecks reports each broken rule of the attribute declarations
// as a problem of its own (a reserved claim name, an unknown type, ...).
func (c Config) attributeChecks() []check {
	_, err := c.AttributeSet()
	if err == nil {
		return nil
	}
	var out []check
	for _, line := range strings.Split(err.Error(), "\n") {
		out = append(out, check{true, "attributes: " + line})
	}
	return out
}
