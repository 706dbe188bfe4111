// Package geoip names the approximate place of an IP address from a local
// MaxMind DB file (GeoIP2 or GeoLite2 City, or Country; read with
// github.com/oschwald/maxminddb-golang), for the account page's list of
// sessions. No lookup leaves the server. It knows nothing of HTTP.
package geoip

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Reader looks addresses up in one database file.
type Reader struct {
	db *maxminddb.Reader
}

// Open opens the database file at path.
func Open(path string) (*Reader, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, err)
	}
	return &Reader{db: db}, nil
}

// Close releases the file.
func (r *Reader) Close() error {
	if err := r.db.Close(); err != nil {
		return fmt.Errorf("geoip: close: %w", err)
	}
	return nil
}

// record is what a City or Country database holds about a network, as
// far as a place's name goes.
type record struct {
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"country"`
}

// Place returns "City, Country" for the address (or only the country, or
// only the city, with what the database knows), the names in lang when
// the database has them (its languages are tags such as "de", "pt-BR"),
// else in English; "" for an address it does not know or cannot parse.
func (r *Reader) Place(ip, lang string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	var rec record
	if err := r.db.Lookup(addr.Unmap()).Decode(&rec); err != nil {
		return ""
	}
	city, country := name(rec.City.Names, lang), name(rec.Country.Names, lang)
	switch {
	case city != "" && country != "":
		return city + ", " + country
	case city != "":
		return city
	default:
		return country
	}
}

// name picks the name in lang, else English.
func name(names map[string]string, lang string) string {
	if n := names[lang]; n != "" {
		return n
	}
	return names["en"]
}
