package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzCheck compares Check with encoding/json: what Check accepts
// encoding/json decodes to the same value; what encoding/json refuses Check
// refuses; a refusal of valid JSON names a member that is there; and an
// accepted object with one of its names added again is refused as a
// duplicate.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"redirect_uris":["https://app.example/cb"],"client_name":"App","client_name#fr":"Appli"}`,
		`{"a":1,"b":[1,{"c":2}]}`,
		`{"a":{"x":1},"b":{"x":2}}`,
		`{"scope":"a","scope":"gatehouse:admin"}`,
		`{"jwks":{"keys":[{"kid":"a","kid":"b"}]}}`,
		`{"a":1,"\u0061":2}`,
		`{"a/b~c":{"d":1,"d":2}}`,
		"{\"\xff\":1,\"\xfe\":2}",
		`{"a":1} trailing`,
		`{"a":1}{"a":2}`,
		`[1,2,{"a":null}] `,
		`"just a string"`,
		`12.5e3`,
		`{"n":1e400}`,
		``,
		`{"a":`,
		`{"":1,"":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data)
		valid := json.Valid(data)
		if err == nil {
			if !valid {
				t.Fatalf("Check accepts %q, which encoding/json refuses", short(data))
			}
			// Decoding may still fail where encoding/json's does (a number
			// out of float64's range): the two must agree.
			var ours, theirs any
			errOurs, errTheirs := Decode(data, &ours, false), json.Unmarshal(data, &theirs)
			if (errOurs == nil) != (errTheirs == nil) {
				t.Fatalf("Decode(%q) = %v, encoding/json says %v", short(data), errOurs, errTheirs)
			}
			if errOurs != nil {
				return
			}
			if !reflect.DeepEqual(ours, theirs) {
				t.Fatalf("Decode(%q) = %#v, encoding/json says %#v", short(data), ours, theirs)
			}
			checkAddedDuplicateRefused(t, data, theirs)
			return
		}
		if !valid {
			return
		}
		// Valid JSON is refused only for a member named twice.
		var dup *DuplicateError
		if !errors.As(err, &dup) {
			t.Fatalf("Check(%q) = %v; encoding/json accepts it, and it has no duplicate", short(data), err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		obj, ok := resolvePointer(doc, dup.Path).(map[string]any)
		if !ok {
			t.Fatalf("Check(%q): the duplicate's path %q is not an object", short(data), dup.Path)
		}
		if _, ok := obj[dup.Name]; !ok {
			t.Fatalf("Check(%q): the object at %q has no member %q", short(data), dup.Path, dup.Name)
		}
	})
}

// checkAddedDuplicateRefused adds the first member of an accepted object
// again, at its front, and expects Check to name it.
func checkAddedDuplicateRefused(t *testing.T, data []byte, doc any) {
	t.Helper()
	obj, ok := doc.(map[string]any)
	if !ok || len(obj) == 0 {
		return
	}
	var name string
	for k := range obj {
		if name == "" || k < name {
			name = k
		}
	}
	encoded, err := json.Marshal(name)
	if err != nil {
		t.Fatal(err)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	doubled := append([]byte("{"), encoded...)
	doubled = append(doubled, `:null,`...)
	doubled = append(doubled, trimmed[1:]...)
	var dup *DuplicateError
	if err := Check(doubled); !errors.As(err, &dup) || dup.Name != name || dup.Path != "" {
		t.Fatalf("Check(%q) = %v, want the duplicate %q at the top", short(doubled), err, name)
	}
}

// resolvePointer follows a JSON Pointer (RFC 6901) through a decoded value;
// nil when it leads nowhere.
func resolvePointer(doc any, pointer string) any {
	if pointer == "" {
		return doc
	}
	for _, token := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		token = strings.NewReplacer("~1", "/", "~0", "~").Replace(token)
		switch v := doc.(type) {
		case map[string]any:
			doc = v[token]
		case []any:
			i, err := strconv.Atoi(token)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			doc = v[i]
		default:
			return nil
		}
	}
	return doc
}

// short cuts an input down for a failure message.
func short(data []byte) string {
	if len(data) > 200 {
		return string(data[:200]) + "…"
	}
	return string(data)
}
