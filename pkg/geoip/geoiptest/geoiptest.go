// Package geoiptest writes small MaxMind DB files for tests (with
// github.com/maxmind/mmdbwriter), so tests of places need no downloaded
// database.
package geoiptest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteCity writes a small GeoIP2 City database for tests: 203.0.113.0/24 is in
// Berlin, Germany (English and German names), 198.51.100.0/24 only in
// Japan; it returns the file's path.
func WriteCity(t testing.TB) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", Languages: []string{"en", "de"}, RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	names := func(kv ...string) mmdbtype.Map {
		m := mmdbtype.Map{}
		for i := 0; i < len(kv); i += 2 {
			m[mmdbtype.String(kv[i])] = mmdbtype.String(kv[i+1])
		}
		return mmdbtype.Map{"names": m}
	}
	for _, n := range []struct {
		cidr string
		rec  mmdbtype.Map
	}{
		{"203.0.113.0/24", mmdbtype.Map{"city": names("en", "Berlin", "de", "Berlin"), "country": names("en", "Germany", "de", "Deutschland")}},
		{"198.51.100.0/24", mmdbtype.Map{"country": names("en", "Japan")}},
	} {
		_, network, err := net.ParseCIDR(n.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, n.rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
