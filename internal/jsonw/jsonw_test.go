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
		[]string{"a", "b c", "é"}, []string{}, []string(nil),
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

func TestTimeRejectsTimesWithoutRFC3339Form(t *testing.T) {
	for _, bad := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 25*60*60)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", -24*60*60)),
	} {
		if _, err := Time(nil, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
		if _, err := json.Marshal(bad); err == nil {
			t.Errorf("encoding/json accepts %v: the two disagree", bad)
		}
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
