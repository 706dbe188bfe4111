package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestTokenEndpointRejectsBadInput(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		good := s.createClient(t, machineClient("api:read"))
		codeOnly := s.createClient(t, clients.Spec{Name: "web", RedirectURIs: []string{"https://app.example/cb"}})
		tokenURL := s.URL + "/oauth2/token"
		cc := url.Values{"grant_type": {"client_credentials"}}

		cases := []struct {
			name       string
			id, secret string
			body       string
			status     int
			code       string
		}{
			{"a wrong secret is invalid_client", good.Client.ID, "wrong", cc.Encode(), 401, "invalid_client"},
			{"an unknown client is invalid_client", "nobody", "x", cc.Encode(), 401, "invalid_client"},
			{"no credentials at all is invalid_client", "", "", cc.Encode(), 401, "invalid_client"},
			{"an unknown grant type is unsupported_grant_type", good.Client.ID, good.Secret, "grant_type=urn:example:magic", 400, "unsupported_grant_type"},
			{"a missing grant type is invalid_request", good.Client.ID, good.Secret, "scope=api:read", 400, "invalid_request"},
			{"a malformed body is invalid_request", good.Client.ID, good.Secret, "grant_type=%zz&&", 400, "invalid_request"},
			{"a scope the client may not ask for is invalid_scope", good.Client.ID, good.Secret, "grant_type=client_credentials&scope=api:admin", 400, "invalid_scope"},
			{"a client without the grant is unauthorized_client", codeOnly.Client.ID, codeOnly.Secret, cc.Encode(), 400, "unauthorized_client"},
			{"an oversized body is refused", good.Client.ID, good.Secret, "grant_type=client_credentials&pad=" + strings.Repeat("a", 70<<10), 413, "invalid_request"},
			{"a parameter sent twice is invalid_request (RFC 6749 §3.2)", good.Client.ID, good.Secret, "grant_type=client_credentials&scope=api:read&scope=api:read", 400, "invalid_request"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := countTokens(t, s)
				req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.id != "" {
					req.SetBasicAuth(tc.id, tc.secret)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body := decodeJSON(t, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status || body["error"] != tc.code {
					t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
				if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("401 without a Basic WWW-Authenticate challenge")
				}
				if after := countTokens(t, s); after != before {
					t.Errorf("a refused request wrote tokens: %d -> %d", before, after)
				}
			})
		}

		t.Run("GET is refused", func(t *testing.T) {
			resp, err := http.Get(tokenURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
				t.Errorf("GET /oauth2/token = %d", resp.StatusCode)
			}
		})
		t.Run("browser apps' preflights name each endpoint's methods", func(t *testing.T) {
			for path, methods := range map[string]string{"/oauth2/token": "POST", "/oauth2/revoke": "POST", "/userinfo": "GET, POST"} {
				req, _ := http.NewRequest(http.MethodOptions, s.URL+path, nil)
				req.Header.Set("Origin", "https://spa.example")
				req.Header.Set("Access-Control-Request-Method", "POST")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				h := resp.Header
				if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://spa.example" ||
					h.Get("Access-Control-Allow-Methods") != methods || h.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" ||
					h.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("OPTIONS %s = %d %v", path, resp.StatusCode, h)
				}
			}
		})
		t.Run("an unknown path is a page for a browser and JSON for a program", func(t *testing.T) {
			for accept, want := range map[string]string{"text/html,application/xhtml+xml": "text/html", "application/json": "application/json"} {
				req, _ := http.NewRequest(http.MethodGet, s.URL+"/no-such-page", nil)
				req.Header.Set("Accept", accept)
				req.Header.Set("Accept-Language", "de")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
					t.Errorf("Accept %s: %d %s", accept, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				if want == "text/html" && !strings.Contains(string(body), `lang="de"`) {
					t.Errorf("the 404 page is not in the browser's language: %.300s", body)
				}
			}
		})
		t.Run("every 405 says which methods are allowed", func(t *testing.T) {
			// RFC 9110 §15.5.6: a 405 MUST carry Allow.
			for _, c := range []struct{ method, path, allow string }{
				{http.MethodPut, "/userinfo", "GET, POST, OPTIONS"},
				{http.MethodPost, "/.well-known/openid-configuration", "GET, HEAD"},
				{http.MethodDelete, "/oauth2/auth", "GET, POST"},
			} {
				req, _ := http.NewRequest(c.method, s.URL+c.path, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.allow {
					t.Errorf("%s %s = %d, Allow %q; want 405, Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.allow)
				}
			}
		})
	})
}

func TestIntrospectionAndRevocationRules(t *testing.T) {
	s := startServer(t, gormstoretest.SQLiteURL(t))
	owner := s.createClient(t, machineClient("api:read"))
	other := s.createClient(t, machineClient("api:read"))
	public := s.createClient(t, clients.Spec{Name: "spa", Public: true, RedirectURIs: []string{"http://localhost:3000/cb"}})
	_, tok := postForm(t, s.URL+"/oauth2/token", owner.Client.ID, owner.Secret, url.Values{"grant_type": {"client_credentials"}})
	token, _ := tok["access_token"].(string)
	if token == "" {
		t.Fatalf("no token: %v", tok)
	}
	introspectURL := s.URL + "/oauth2/introspect"

	t.Run("introspection without client credentials is 401", func(t *testing.T) {
		resp, body := postForm(t, introspectURL, "", "", url.Values{"token": {token}})
		if resp.StatusCode != 401 || body["error"] != "invalid_client" {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
	})
	t.Run("a bearer token does not authenticate an introspection", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, introspectURL, strings.NewReader(url.Values{"token": {"gate_at_x.y"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
	t.Run("a public client cannot introspect", func(t *testing.T) {
		resp, _ := postForm(t, introspectURL, "", "", url.Values{"token": {token}, "client_id": {public.Client.ID}})
		if resp.StatusCode != 401 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
	t.Run("an unknown token is inactive", func(t *testing.T) {
		resp, body := postForm(t, introspectURL, other.Client.ID, other.Secret, url.Values{"token": {"gate_at_bogus.bogus"}})
		if resp.StatusCode != 200 || body["active"] != false {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
	})
	t.Run("a token of another client cannot be revoked", func(t *testing.T) {
		resp, body := postForm(t, s.URL+"/oauth2/revoke", other.Client.ID, other.Secret, url.Values{"token": {token}})
		if resp.StatusCode != 400 || body["error"] != "unauthorized_client" {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
		_, intro := postForm(t, introspectURL, owner.Client.ID, owner.Secret, url.Values{"token": {token}})
		if intro["active"] != true {
			t.Fatal("the token was revoked by another client")
		}
	})
	t.Run("revocation needs the token parameter", func(t *testing.T) {
		resp, body := postForm(t, s.URL+"/oauth2/revoke", owner.Client.ID, owner.Secret, url.Values{"token_type_hint": {"access_token"}})
		if resp.StatusCode != 400 || body["error"] != "invalid_request" {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
	})
	t.Run("revoking an unknown token is 200", func(t *testing.T) {
		resp, _ := postForm(t, s.URL+"/oauth2/revoke", owner.Client.ID, owner.Secret, url.Values{"token": {"gate_at_bogus.bogus"}})
		if resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
	t.Run("revocation without client authentication is 401 invalid_client", func(t *testing.T) {
		// RFC 7009 §2.1 with RFC 6749 §5.2.
		resp, body := postForm(t, s.URL+"/oauth2/revoke", "", "", url.Values{"token": {token}})
		if resp.StatusCode != 401 || body["error"] != "invalid_client" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
	})
	t.Run("revocation with a wrong secret is 401", func(t *testing.T) {
		resp, body := postForm(t, s.URL+"/oauth2/revoke", owner.Client.ID, "wrong", url.Values{"token": {token}})
		if resp.StatusCode != 401 || body["error"] != "invalid_client" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
	})
}

func countTokens(t *testing.T, s *testServer) int64 {
	t.Helper()
	counts, err := s.Store().CountTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range counts {
		n += c
	}
	return n
}
