package geoip_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/geoip"
	"github.com/gatehouse-id/gatehouse/pkg/geoip/geoiptest"
)

func TestPlace(t *testing.T) {
	r, err := geoip.Open(geoiptest.WriteCity(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range []struct{ ip, lang, want string }{
		{"203.0.113.9", "en", "Berlin, Germany"},
		{"203.0.113.9", "de", "Berlin, Deutschland"},
		{"203.0.113.9", "ja", "Berlin, Germany"},
		{"::ffff:203.0.113.9", "en", "Berlin, Germany"},
		{"198.51.100.4", "de", "Japan"},
		{"192.0.2.1", "en", ""},
		{"not an address", "en", ""},
	} {
		if got := r.Place(c.ip, c.lang); got != c.want {
			t.Errorf("Place(%q, %q) = %q, want %q", c.ip, c.lang, got, c.want)
		}
	}
	if _, err := geoip.Open(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("a missing file opened")
	}
}
