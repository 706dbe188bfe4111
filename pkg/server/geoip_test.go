package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/geoip/geoiptest"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// fromAddress sends every request of the browser as if through a proxy
// from the address, in German.
type fromAddress struct {
	ip   string
	next http.RoundTripper
}

func (f fromAddress) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.ip)
	r.Header.Set("Accept-Language", "de")
	return f.next.RoundTrip(r)
}

// sessionsPage signs Alice in on the account page from the address and
// returns her sessions page.
func sessionsPage(t *testing.T, s *testServer, ip string) *browser.Page {
	t.Helper()
	b := browser.New(s.URL)
	next := b.Client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	b.Client.Transport = fromAddress{ip: ip, next: next}
	page, err := b.Get(s.URL + "/account/login")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := page.FormWith("password")
	if _, err := b.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", ""); err != nil {
		t.Fatal(err)
	}
	page, err = b.Get(s.URL + "/account/sessions")
	if err != nil || page.Status != http.StatusOK {
		t.Fatalf("sessions page: %v %d", err, page.Status)
	}
	return page
}

func TestSessionsShowTheApproximatePlace(t *testing.T) {
	db := gormstoretest.SQLiteURL(t)
	t.Run("with a GeoIP database: City, Country in the page's language", func(t *testing.T) {
		s := startServerWith(t, db, func(c *config.Config) {
			c.GeoIPDatabase = geoiptest.WriteCity(t)
			c.TrustedProxies = "127.0.0.1/32"
		})
		createAlice(t, s)
		page := sessionsPage(t, s, "203.0.113.9")
		if !strings.Contains(page.Body, "Ungefährer Standort: Berlin, Deutschland") || !strings.Contains(page.Body, "203.0.113.9") {
			t.Fatalf("no place: %.2000s", page.Body)
		}
	})
	t.Run("without one: only the address", func(t *testing.T) {
		s := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.TrustedProxies = "127.0.0.1/32" })
		createAlice(t, s)
		page := sessionsPage(t, s, "203.0.113.9")
		if strings.Contains(page.Body, "session-place") || !strings.Contains(page.Body, "203.0.113.9") {
			t.Fatalf("%.2000s", page.Body)
		}
	})
}
