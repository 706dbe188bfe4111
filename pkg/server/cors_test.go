package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// A token or revocation answer is readable only by a script of an origin
// the calling client registered (its redirect URIs' origins, or
// allowed_cors_origins); no other site's script may read it.
func TestCORSOnlyForTheClientsOrigins(t *testing.T) {
	s := startServer(t, gormstoretest.SQLiteURL(t))
	spa := s.createClient(t, clients.Spec{Name: "spa", Public: true, RedirectURIs: []string{"https://spa.example/cb"}})
	explicit := s.createClient(t, clients.Spec{Name: "m2m", GrantTypes: []string{"client_credentials"}, AllowedCORSOrigins: []string{"https://console.example"}})
	post := func(path, origin string, form url.Values, basicID, basicSecret string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if basicID != "" {
			req.SetBasicAuth(basicID, basicSecret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	badCode := url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "client_id": {spa.Client.ID}, "redirect_uri": {"https://spa.example/cb"}, "code_verifier": {strings.Repeat("v", 43)}}
	for _, tc := range []struct {
		name, path, origin string
		form               url.Values
		id, secret         string
		want               string
	}{
		{"the SPA's own origin reads its token answer", "/oauth2/token", "https://spa.example", badCode, "", "", "https://spa.example"},
		{"another site's script does not", "/oauth2/token", "https://evil.example", badCode, "", "", ""},
		{"an unknown client's answer is not readable", "/oauth2/token", "https://evil.example", url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"}}, "", "", ""},
		{"an explicit allowed origin reads the answer", "/oauth2/token", "https://console.example", url.Values{"grant_type": {"client_credentials"}}, explicit.Client.ID, explicit.Secret, "https://console.example"},
		{"with explicit origins, others do not", "/oauth2/token", "https://evil.example", url.Values{"grant_type": {"client_credentials"}}, explicit.Client.ID, explicit.Secret, ""},
		{"revocation: the client's origin", "/oauth2/revoke", "https://spa.example", url.Values{"token": {"x"}, "client_id": {spa.Client.ID}}, "", "", "https://spa.example"},
		{"revocation: another origin", "/oauth2/revoke", "https://evil.example", url.Values{"token": {"x"}, "client_id": {spa.Client.ID}}, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(tc.path, tc.origin, tc.form, tc.id, tc.secret)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Fatalf("%d, Access-Control-Allow-Origin = %q, want %q", resp.StatusCode, got, tc.want)
			}
		})
	}
	t.Run("allowed_cors_origins must be origins", func(t *testing.T) {
		for _, bad := range []string{"https://app.example/path", "http://app.example", "app.example", "https://app.example/"} {
			_, err := clients.NewService(s.Store(), s.Secrets(), clients.Options{}).Create(t.Context(), clients.Spec{Name: "x", GrantTypes: []string{"client_credentials"}, AllowedCORSOrigins: []string{bad}})
			if !clients.IsInvalid(err) {
				t.Errorf("%q accepted: %v", bad, err)
			}
		}
	})
}
