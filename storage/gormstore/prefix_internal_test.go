package gormstore

import "testing"

func TestPrefixUpperBound(t *testing.T) {
	for p, want := range map[string]string{"a": "b", "ab": "ac", "a\xff": "b", "é": "\xc3\xaa", "zoe.zhang9": "zoe.zhang:"} {
		if got, ok := prefixUpperBound(p); !ok || got != want {
			t.Errorf("prefixUpperBound(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
	if _, ok := prefixUpperBound("\xff\xff"); ok {
		t.Error("an all-0xFF prefix has an upper bound")
	}
}
