package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/admin"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// TestSealedClientCredentialsTokens checks the client-credentials grant's
// sealed access tokens over HTTP, on both databases: nothing is stored
// when one is issued, and introspection (RFC 7662), revocation (RFC 7009)
// and the admin API treat it as they treat a stored token.
func TestSealedClientCredentialsTokens(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		spec := machineClient("api:read", "api:write")
		spec.Audience = []string{apiAudience}
		app := s.createClient(t, spec)
		rs := s.createClient(t, machineClient())
		introspect := func(t *testing.T, token string) map[string]any {
			t.Helper()
			resp, body := postForm(t, s.URL+"/oauth2/introspect", rs.Client.ID, rs.Secret, url.Values{"token": {token}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("introspection: %d %v", resp.StatusCode, body)
			}
			return body
		}
		grant := func(t *testing.T, form url.Values) string {
			t.Helper()
			resp, body := grantWith(t, s, app, form)
			token, _ := body["access_token"].(string)
			if resp.StatusCode != http.StatusOK || token == "" {
				t.Fatalf("grant: %d %v", resp.StatusCode, body)
			}
			return token
		}

		t.Run("issuing one writes nothing, and introspection reports it", func(t *testing.T) {
			before := countTokens(t, s)
			token := grant(t, url.Values{"scope": {"api:read"}, "resource": {apiAudience}})
			if n := countTokens(t, s); n != before {
				t.Errorf("token rows went from %d to %d", before, n)
			}
			if !strings.HasPrefix(token, "gate_at_") || strings.Contains(token, ".") {
				t.Errorf("not a sealed token: %q", token)
			}
			in := introspect(t, token)
			if in["active"] != true || in["scope"] != "api:read" || in["client_id"] != app.Client.ID || in["sub"] != app.Client.ID ||
				in["token_type"] != "Bearer" || in["iss"] != s.URL {
				t.Fatalf("introspection: %v", in)
			}
			if aud := audienceOf(in); len(aud) != 1 || aud[0] != apiAudience {
				t.Errorf("aud = %v", in["aud"])
			}
			exp, _ := in["exp"].(float64)
			iat, _ := in["iat"].(float64)
			if got := time.Duration(exp-iat) * time.Second; got < time.Hour-2*time.Second || got > time.Hour {
				t.Errorf("exp - iat = %v, want the hour of access_token_lifetime", got)
			}
			if now := float64(time.Now().Unix()); iat > now+1 || iat < now-60 {
				t.Errorf("iat = %v, now %v", iat, now)
			}
		})

		t.Run("an altered or foreign token is inactive", func(t *testing.T) {
			token := grant(t, url.Values{})
			body := []byte(strings.TrimPrefix(token, "gate_at_"))
			mid := len(body) / 2
			if body[mid] == 'A' {
				body[mid] = 'B'
			} else {
				body[mid] = 'A'
			}
			if in := introspect(t, "gate_at_"+string(body)); in["active"] != false {
				t.Errorf("an altered token is active: %v", in)
			}
			other := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) {
				c.Secret = "another-secret-another-secret-another-0123"
			})
			foreignApp := other.createClient(t, machineClient())
			_, fb := grantWith(t, other, foreignApp, url.Values{})
			if in := introspect(t, fb["access_token"].(string)); in["active"] != false {
				t.Errorf("a token sealed under another system secret is active: %v", in)
			}
		})

		t.Run("revoked by its client: inactive at once; by another client: refused", func(t *testing.T) {
			token := grant(t, url.Values{})
			if in := introspect(t, token); in["active"] != true {
				t.Fatalf("fresh token inactive: %v", in)
			}
			resp, body := postForm(t, s.URL+"/oauth2/revoke", rs.Client.ID, rs.Secret, url.Values{"token": {token}})
			if resp.StatusCode != http.StatusBadRequest || body["error"] != "unauthorized_client" {
				t.Fatalf("another client's revocation: %d %v", resp.StatusCode, body)
			}
			if in := introspect(t, token); in["active"] != true {
				t.Fatal("another client revoked the token")
			}
			other := grant(t, url.Values{})
			resp, _ = postForm(t, s.URL+"/oauth2/revoke", app.Client.ID, app.Secret,
				url.Values{"token": {token}, "token_type_hint": {"access_token"}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if in := introspect(t, token); in["active"] != false {
				t.Errorf("revoked token still active: %v", in)
			}
			if in := introspect(t, other); in["active"] != true {
				t.Errorf("revoking one token revoked another of the client: %v", in)
			}
			// Twice is fine (RFC 7009 §2.2).
			if resp, _ := postForm(t, s.URL+"/oauth2/revoke", app.Client.ID, app.Secret, url.Values{"token": {token}}); resp.StatusCode != http.StatusOK {
				t.Fatalf("second revocation: %d", resp.StatusCode)
			}
		})

		t.Run("an admin client's tokens are stored, and refused once revoked", func(t *testing.T) {
			// The system secret alone must not mint a token the admin API
			// takes, so an admin client's tokens are not sealed.
			ops := s.createClient(t, adminClient())
			before := countTokens(t, s)
			token := clientToken(t, s, ops, admin.Scope)
			if n := countTokens(t, s); n != before+1 || !strings.Contains(token, ".") {
				t.Errorf("an admin token is not stored (rows %d → %d, %.20s…)", before, n, token)
			}
			adminCall(t, s, http.MethodGet, "/clients", token, nil).want(t, http.StatusOK)
			if resp, _ := postForm(t, s.URL+"/oauth2/revoke", ops.Client.ID, ops.Secret, url.Values{"token": {token}}); resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			wantProblem(t, adminCall(t, s, http.MethodGet, "/clients", token, nil), http.StatusUnauthorized)
		})

		t.Run("a deleted client's tokens are inactive", func(t *testing.T) {
			gone := s.createClient(t, machineClient("api:read"))
			_, body := grantWith(t, s, gone, url.Values{})
			token := body["access_token"].(string)
			if in := introspect(t, token); in["active"] != true {
				t.Fatalf("fresh token inactive: %v", in)
			}
			if err := s.Store().DeleteClient(context.Background(), gone.Client.ID); err != nil {
				t.Fatal(err)
			}
			if in := introspect(t, token); in["active"] != false {
				t.Errorf("the token of a deleted client is active: %v", in)
			}
		})
	})
}
