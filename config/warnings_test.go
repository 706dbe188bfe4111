package config

import (
	"strings"
	"testing"
)

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		issuer, addr string
		warn         string // a part of the one warning, or "" for none
	}{
		{"http://localhost:8080", ":8080", ""},
		{"http://localhost:8080", ":9090", "discovery announces endpoints on port 8080"},
		{"http://127.0.0.1", "127.0.0.1:8080", "on port 80,"},
		{"https://id.example.com", ":8080", ""}, // a proxy in front: no way to tell
		{"http://localhost:8080", "127.0.0.1:0", ""},
	} {
		c := Default()
		c.Issuer, c.HTTPAddr = tc.issuer, tc.addr
		got := c.Warnings()
		switch {
		case tc.warn == "" && len(got) != 0:
			t.Errorf("%s on %s: warned %q", tc.issuer, tc.addr, got)
		case tc.warn != "" && (len(got) != 1 || !strings.Contains(got[0], tc.warn)):
			t.Errorf("%s on %s: warnings %q, want one containing %q", tc.issuer, tc.addr, got, tc.warn)
		}
	}
}
