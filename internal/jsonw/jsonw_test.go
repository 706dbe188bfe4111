package jsonw

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// TestValueMatchesEncodingJSON checks that every value comes back through
// encoding/json as what went in.
func TestValueMatchesEncodingJSON(t *testing.T) {
	when := time.Date(2026, 11, 29, 8, 30, 1, 123456789, time.UTC)
	tests := []any{
		"plain", "", "quote\" and \\ backslash", `{"s":"a\u0026b"}`, `\\`, `"`, "new\nline", "<script>&", "naïve 日本", "\x00\x1f\x7f",
		42, int64(math.MinInt64), true, false,
		[]string{"a", "b c", "é"}, []string{},
		when, when.In(time.FixedZone("x", 3600)),
		map[string]any{"k": []any{1.5, nil}},
	}
	for _, v := range tests {
		got, err := Value(nil, v)
		if err != nil {
			t.Fatalf("Value(%#v): %v", v, err)
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("Value(%#v) = %s: not JSON: %v", v, got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("Value(%#v) = %s, encoding/json writes %s", v, got, want)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("Value(%#v) = %s, encoding/json says %s", v, got, want)
		}
	}
}

func TestTimeRejectsYearsWithoutRFC3339Form(t *testing.T) {
	if _, err := Time(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("year 10000 accepted")
	}
}

func TestKeySeparatesMembers(t *testing.T) {
	b := append([]byte(nil), '{')
	b = Key(b, "a")
	b = String(b, "x")
	b = Key(b, "b")
	b = Strings(b, []string{"y"})
	b = append(b, '}')
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got["a"] != "x" || len(got["b"].([]any)) != 1 {
		t.Fatalf("got %s", b)
	}
}
