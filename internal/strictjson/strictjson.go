// Package strictjson decodes request bodies that must be exactly one JSON
// value: no text after it, and no member name twice in one object.
// encoding/json accepts both (the last duplicate wins), which lets two
// parsers of the same body disagree about what it says (RFC 8259 §4: names
// SHOULD be unique; RFC 7591 §3.1 and RFC 9457 bodies are JSON objects).
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
)

// ErrTrailingData is returned when something follows the JSON value.
var ErrTrailingData = errors.New("the body holds more than one JSON value")

// ErrTooDeep is returned for arrays and objects nested deeper than
// encoding/json decodes (maxDepth), so Check accepts nothing Decode refuses.
var ErrTooDeep = errors.New("the JSON value is nested too deeply")

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// DuplicateError names a member that appears twice in one object.
type DuplicateError struct {
	// Path locates the object, as a JSON Pointer (RFC 6901); "" is the top.
	Path string
	Name string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("the member %q appears twice in the object at %q", e.Name, "/"+strings.TrimPrefix(e.Path, "/"))
}

// IsJSONContentType reports whether a Content-Type header names
// application/json (with any parameters, such as charset).
func IsJSONContentType(header string) bool {
	mt, _, err := mime.ParseMediaType(header)
	return err == nil && mt == "application/json"
}

// Check reports whether data is exactly one JSON value without duplicate
// member names. It does not decode into any type.
func Check(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailingData
	}
	return nil
}

// Decode checks data with Check, then decodes it into v. With
// disallowUnknown, a member v has no field for is an error too, and so is
// one of v's top-level members spelt in another case: encoding/json would
// read "Scope" as scope, where member names are case-sensitive (RFC 8259
// §4) and another parser of the same body would not.
func Decode(data []byte, v any, disallowUnknown bool) error {
	if err := Check(data); err != nil {
		return err
	}
	if disallowUnknown {
		if err := exactNames(data, v); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// exactNames refuses a top-level member of data that is not named exactly
// as a field of the struct v points to (promoted fields of embedded
// structs included). It says nothing of data that is not an object, or of
// a v that is not a pointer to a struct.
func exactNames(data []byte, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return nil
	}
	names := map[string]bool{}
	jsonNames(t.Elem(), names)
	for name := range members {
		if !names[name] {
			return fmt.Errorf("json: unknown field %q", name)
		}
	}
	return nil
}

// jsonNames adds the JSON member names of struct type t's fields to names.
func jsonNames(t reflect.Type, names map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-":
		case f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct:
			jsonNames(f.Type, names)
		case !f.IsExported():
		case tag != "":
			names[tag] = true
		default:
			names[f.Name] = true
		}
	}
}

// walk reads one value from dec, refusing an object with a name twice and
// nesting deeper than maxDepth; depth counts the arrays and objects around
// the value.
func walk(dec *json.Decoder, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if (tok == json.Delim('{') || tok == json.Delim('[')) && depth >= maxDepth {
		return ErrTooDeep
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			nameTok, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := nameTok.(string)
			if seen[name] {
				return &DuplicateError{Path: path, Name: name}
			}
			seen[name] = true
			if err := walk(dec, path+"/"+escapePointer(name), depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walk(dec, fmt.Sprintf("%s/%d", path, i), depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

// escapePointer escapes a member name for a JSON Pointer (RFC 6901 §3).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
