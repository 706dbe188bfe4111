package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// RFC 8252 §7.3 lets native apps use any loopback port; a confidential web
// client's redirect URI must match exactly (RFC 6749 §3.1.2.3).
func TestLoopbackRedirectPortOnlyForNativeApps(t *testing.T) {
	s := startServer(t, gormstoretest.SQLiteURL(t))
	web := s.createClient(t, clients.Spec{Name: "web", RedirectURIs: []string{"http://127.0.0.1:5000/cb"}})
	native := s.createClient(t, clients.Spec{Name: "cli", Public: true, ApplicationType: "native", RedirectURIs: []string{"http://127.0.0.1/cb"}})
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(clientID, redirectURI string) *http.Response {
		t.Helper()
		q := url.Values{
			"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"st"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"},
		}
		resp, err := noRedirects.Get(s.URL + "/oauth2/auth?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	t.Run("a web client on another loopback port gets an error page, not a redirect", func(t *testing.T) {
		resp := authorize(web.Client.ID, "http://127.0.0.1:6000/cb")
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("a web client on its registered port goes on to sign-in", func(t *testing.T) {
		resp := authorize(web.Client.ID, "http://127.0.0.1:5000/cb")
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.Contains(loc, "/login") {
			t.Fatalf("status %d, Location %q", resp.StatusCode, loc)
		}
	})
	t.Run("a native app may use any loopback port", func(t *testing.T) {
		resp := authorize(native.Client.ID, "http://127.0.0.1:49152/cb")
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.Contains(loc, "/login") {
			t.Fatalf("status %d, Location %q", resp.StatusCode, loc)
		}
	})
}
