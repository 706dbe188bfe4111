package strictjson

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"an object", `{"a":1,"b":[1,{"c":2}]}`, true},
		{"white space after the value", "{\"a\":1}\n\t ", true},
		{"the same name in two objects", `{"a":{"x":1},"b":{"x":2}}`, true},
		{"text after the value", `{"a":1} trailing`, false},
		{"a second value", `{"a":1}{"a":2}`, false},
		{"a duplicate name", `{"scope":"a","scope":"gatehouse:admin"}`, false},
		{"a nested duplicate", `{"jwks":{"keys":[{"kid":"a","kid":"b"}]}}`, false},
		{"no value", ``, false},
		{"broken JSON", `{"a":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check([]byte(tc.in)); (err == nil) != tc.ok {
				t.Fatalf("Check(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
	var dup *DuplicateError
	if err := Check([]byte(`{"jwks":{"keys":[{"kid":"a","kid":"b"}]}}`)); !errors.As(err, &dup) || dup.Path != "/jwks/keys/0" || dup.Name != "kid" {
		t.Fatalf("duplicate error = %#v", err)
	}
}

func TestIsJSONContentType(t *testing.T) {
	for in, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		"text/plain": false, "": false, "application/x-www-form-urlencoded": false, "application/jsonx": false,
	} {
		if got := IsJSONContentType(in); got != want {
			t.Errorf("IsJSONContentType(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDecodeRefusesMembersInAnotherCase(t *testing.T) {
	type inner struct {
		Scope string `json:"scope"`
	}
	type request struct {
		inner
		Name   string `json:"name,omitempty"`
		Hidden string `json:"-"`
	}
	var r request
	if err := Decode([]byte(`{"scope":"a","name":"n"}`), &r, true); err != nil || r.Scope != "a" || r.Name != "n" {
		t.Fatalf("exact names: %v %+v", err, r)
	}
	for _, body := range []string{`{"Scope":"gatehouse:admin"}`, `{"NAME":"n"}`, `{"Hidden":"x"}`} {
		if err := Decode([]byte(body), &request{}, true); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
	// Without disallowUnknown, unknown members are ignored as before.
	if err := Decode([]byte(`{"Scope":"x","other":1}`), &request{}, false); err != nil {
		t.Errorf("lenient decode: %v", err)
	}
}
