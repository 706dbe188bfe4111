package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// Every begun passkey ceremony stores a challenge, so the begin endpoints
// are throttled per address and per browser: 429 with Retry-After and the
// JSON the page's script shows.
func TestPasskeyBeginThrottled(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, _ := startMFAServer(t, db.URL, func(c *config.Config) {
			onLocalhost(c)
			c.ThrottlePasskeyBegins = 2
			c.ThrottleBackoffBase = 10 * time.Minute // no wait runs out during the test
			c.TrustedProxies = "127.0.0.1/32"
		})
		// beginFrom starts a passkey sign-in in the browser, as if from the
		// address, and returns the answer's status, Retry-After and body.
		beginFrom := func(t *testing.T, b *browser.Browser, ip string) (int, string, map[string]any) {
			t.Helper()
			page, err := b.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form := passkeyForm(t, page, "passkey-login")
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/login/passkey/begin", strings.NewReader(url.Values{"csrf": {form.Fields.Get("csrf")}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", ip)
			req.Header.Set("Accept-Language", "de")
			res, err := b.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("begin answered no JSON (%d): %v", res.StatusCode, err)
			}
			return res.StatusCode, res.Header.Get("Retry-After"), body
		}
		device := browser.New(s.URL)
		for i := range 2 {
			if status, _, _ := beginFrom(t, device, "198.51.100.1"); status != http.StatusOK {
				t.Fatalf("ceremony %d within the budget: %d", i+1, status)
			}
		}
		t.Run("the address's third is refused, with the wait in the page's language", func(t *testing.T) {
			status, retry, body := beginFrom(t, device, "198.51.100.1")
			msg, _ := body["message"].(string)
			if status != http.StatusTooManyRequests || retry == "" || body["error"] != "slow_down" || body["retry_after"] == nil || !strings.Contains(msg, "Passkey-Versuche") {
				t.Fatalf("got %d Retry-After %q %v", status, retry, body)
			}
		})
		t.Run("the browser is refused from another address too", func(t *testing.T) {
			if status, _, _ := beginFrom(t, device, "198.51.100.2"); status != http.StatusTooManyRequests {
				t.Fatalf("got %d", status)
			}
		})
		t.Run("another browser from the address is refused", func(t *testing.T) {
			if status, _, _ := beginFrom(t, browser.New(s.URL), "198.51.100.1"); status != http.StatusTooManyRequests {
				t.Fatalf("got %d", status)
			}
		})
		t.Run("another browser from another address is not", func(t *testing.T) {
			if status, _, _ := beginFrom(t, browser.New(s.URL), "198.51.100.3"); status != http.StatusOK {
				t.Fatalf("got %d", status)
			}
		})
	})
}
