package jsonw

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzString checks String, Strings and Key byte for byte against
// encoding/json, and that the output decodes back to the input's
// encoding/json reading.
func FuzzString(f *testing.F) {
	for _, s := range []string{"plain", "", `quote" and \ backslash`, "<script>&", "naïve 日本", "\x00\x1f\x7f", "\xff\xfe", "\u2028\u2029", "gate_at_AAAA.BBBB", "a\tb\nc"} {
		f.Add(s, "second")
	}
	f.Fuzz(func(t *testing.T, s, s2 string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := String(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("String(%q) = %s, encoding/json writes %s", s, got, want)
		}
		wantArr, err := json.Marshal([]string{s, s2})
		if err != nil {
			t.Fatal(err)
		}
		if got := Strings(nil, []string{s, s2}); !bytes.Equal(got, wantArr) {
			t.Fatalf("Strings(%q, %q) = %s, encoding/json writes %s", s, s2, got, wantArr)
		}
		obj := append(Key(append(Key([]byte("{"), s), "1"...), s2), "2}"...)
		var back map[string]int
		if err := json.Unmarshal(obj, &back); err != nil {
			t.Fatalf("Key wrote %s: %v", obj, err)
		}
		var name, name2 string
		_ = json.Unmarshal(want, &name)
		_ = json.Unmarshal(String(nil, s2), &name2)
		if name != name2 && (back[name] != 1 || back[name2] != 2 || len(back) != 2) {
			t.Fatalf("Key wrote %s, which reads back as %v", obj, back)
		}
	})
}

// FuzzValue checks Value and Time against encoding/json for integers,
// booleans and times anywhere in time.Time's range and in any zone offset:
// the same bytes, or both refuse.
func FuzzValue(f *testing.F) {
	f.Add(int64(0), true, int64(1764405001123456789), 0)
	f.Add(int64(-9223372036854775808), false, int64(-62135596800000000), 3600)
	f.Add(int64(42), true, int64(253402300800000000), -86400)
	f.Add(int64(7), false, int64(1764405001000000000), 24*60*60-1)
	f.Fuzz(func(t *testing.T, n int64, b bool, unixNano int64, offset int) {
		for _, v := range []any{n, int(n), b} {
			got, err := Value(nil, v)
			want, _ := json.Marshal(v)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Value(%#v) = %s, %v; encoding/json writes %s", v, got, err, want)
			}
		}
		when := time.Unix(0, unixNano).In(time.FixedZone("z", offset))
		// Times far from the Unix epoch too: add whole years.
		for _, tm := range []time.Time{when, when.AddDate(int(n%20000), 0, 0)} {
			got, err := Value(nil, tm)
			want, wantErr := json.Marshal(tm)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("Value(%v) = %s, %v; encoding/json says %s, %v", tm, got, err, want, wantErr)
			}
			if err == nil && !bytes.Equal(got, want) {
				t.Fatalf("Value(%v) = %s, encoding/json writes %s", tm, got, want)
			}
		}
	})
}
