package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// register posts client metadata to the registration endpoint.
func register(t *testing.T, s *testServer, token string, metadata any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(metadata)
	return jsonCall(t, http.MethodPost, s.URL+"/oauth2/register", token, body)
}

func jsonCall(t *testing.T, method, u, token string, body []byte) (int, map[string]any) {
	t.Helper()
	return rawCall(t, method, u, "application/json", token, string(body))
}

func mintRegistrationToken(t *testing.T, s *testServer, uses int) string {
	t.Helper()
	tok, _, err := clients.NewService(s.Store(), s.Secrets(), clients.Options{}).NewRegistrationToken(context.Background(), s.Store(), time.Hour, uses)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func countClients(t *testing.T, s *testServer) int {
	t.Helper()
	list, err := s.Store().ListClients(context.Background(), storage.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestDynamicRegistration(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)

		t.Run("discovery advertises the registration endpoint", func(t *testing.T) {
			resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			meta := decodeJSON(t, resp.Body)
			resp.Body.Close()
			if meta["registration_endpoint"] != s.URL+"/oauth2/register" {
				t.Fatalf("registration_endpoint = %v", meta["registration_endpoint"])
			}
		})

		t.Run("an integrator registers with an initial access token and uses the client at once", func(t *testing.T) {
			token := mintRegistrationToken(t, s, 1)
			status, reg := register(t, s, token, map[string]any{
				"client_name": "Partner Backend", "client_name#fr": "Service partenaire",
				"grant_types": []string{"client_credentials"}, "scope": "api:read",
				"contacts": []string{"ops@partner.example"},
			})
			if status != http.StatusCreated {
				t.Fatalf("status %d: %v", status, reg)
			}
			for _, k := range []string{"client_id", "client_secret", "registration_access_token", "registration_client_uri", "client_id_issued_at"} {
				if reg[k] == nil || reg[k] == "" {
					t.Errorf("response lacks %s: %v", k, reg)
				}
			}
			if reg["client_secret_expires_at"] != float64(0) || reg["client_name#fr"] != "Service partenaire" {
				t.Errorf("response = %v", reg)
			}
			cc := clientcredentials.Config{ClientID: reg["client_id"].(string), ClientSecret: reg["client_secret"].(string), TokenURL: s.URL + "/oauth2/token", Scopes: []string{"api:read"}}
			if _, err := cc.Token(context.Background()); err != nil {
				t.Fatalf("the new client cannot get a token: %v", err)
			}
			t.Run("a used-up initial access token is refused", func(t *testing.T) {
				status, body := register(t, s, token, map[string]any{"grant_types": []string{"client_credentials"}})
				if status != http.StatusUnauthorized || body["error"] != "invalid_token" {
					t.Fatalf("got %d %v", status, body)
				}
			})
		})

		t.Run("registration without an initial access token is refused", func(t *testing.T) {
			status, body := register(t, s, "", map[string]any{"redirect_uris": []string{"https://app.example/cb"}})
			if status != http.StatusUnauthorized || body["error"] != "invalid_token" {
				t.Fatalf("got %d %v", status, body)
			}
		})

		rejections := []struct {
			name, code, field string
			metadata          map[string]any
		}{
			{"a code client without redirect_uris", "invalid_redirect_uri", "redirect_uris", map[string]any{"client_name": "x"}},
			{"a redirect URI with a fragment", "invalid_redirect_uri", "redirect_uris", map[string]any{"redirect_uris": []string{"https://app.example/cb#frag"}}},
			{"an http redirect URI on a public host", "invalid_redirect_uri", "redirect_uris", map[string]any{"redirect_uris": []string{"http://app.example/cb"}}},
			{"a native client with an https redirect URI", "invalid_redirect_uri", "redirect_uris", map[string]any{"application_type": "native", "redirect_uris": []string{"https://app.example/cb"}}},
			{"a web implicit client on localhost", "invalid_redirect_uri", "redirect_uris", map[string]any{"response_types": []string{"id_token"}, "redirect_uris": []string{"http://localhost/cb"}}},
			{"private_key_jwt without keys", "invalid_client_metadata", "jwks", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt"}},
			{"both jwks and jwks_uri", "invalid_client_metadata", "jwks", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example/jwks", "jwks": map[string]any{"keys": []any{}}}},
			{"an unknown authentication method", "invalid_client_metadata", "token_endpoint_auth_method", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "client_secret_jwt"}},
			{"response types the grant types do not allow", "invalid_client_metadata", "response_types", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "grant_types": []string{"authorization_code"}, "response_types": []string{"id_token"}}},
			{"an unsupported userinfo signing algorithm", "invalid_client_metadata", "userinfo_signed_response_alg", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "userinfo_signed_response_alg": "HS256"}},
			{"an unsupported ID token signing algorithm", "invalid_client_metadata", "id_token_signed_response_alg", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "id_token_signed_response_alg": "HS256"}},
			{"a logo_uri that is not a URL", "invalid_client_metadata", "logo_uri", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "logo_uri": "not a url"}},
			{"a member of the wrong type", "invalid_client_metadata", "", map[string]any{"redirect_uris": "https://app.example/cb"}},
			{"an http logo_uri (client_uri, policy_uri and tos_uri alike: pkg/clients)", "invalid_client_metadata", "logo_uri", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "logo_uri": "http://app.example/logo.png"}},
		}
		for _, tc := range rejections {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				before := countClients(t, s)
				status, body := register(t, s, mintRegistrationToken(t, s, 1), tc.metadata)
				desc, _ := body["error_description"].(string)
				if status != http.StatusBadRequest || body["error"] != tc.code || !strings.Contains(desc, tc.field) {
					t.Fatalf("got %d %v, want %s naming %q", status, body, tc.code, tc.field)
				}
				if countClients(t, s) != before {
					t.Fatal("a refused registration stored a client")
				}
			})
		}

		t.Run("the configuration endpoint reads, replaces and deletes the client", func(t *testing.T) {
			status, reg := register(t, s, mintRegistrationToken(t, s, 1), map[string]any{
				"client_name": "Web App", "redirect_uris": []string{"https://app.example/cb"},
			})
			if status != http.StatusCreated {
				t.Fatalf("%d %v", status, reg)
			}
			uri, rat, id := reg["registration_client_uri"].(string), reg["registration_access_token"].(string), reg["client_id"].(string)
			if status, got := jsonCall(t, http.MethodGet, uri, rat, nil); status != 200 || got["client_name"] != "Web App" || got["client_secret"] != nil {
				t.Fatalf("GET: %d %v", status, got)
			}
			if status, _ := jsonCall(t, http.MethodGet, uri, "wrong", nil); status != 401 {
				t.Fatalf("GET with a wrong token: %d", status)
			}
			put, _ := json.Marshal(map[string]any{"client_id": id, "client_name": "Web App 2", "redirect_uris": []string{"https://app.example/cb2"}})
			if status, got := jsonCall(t, http.MethodPut, uri, rat, put); status != 200 || got["client_name"] != "Web App 2" {
				t.Fatalf("PUT: %d %v", status, got)
			}
			c, err := s.Store().LookupClient(context.Background(), id)
			if err != nil || c.RedirectURIs[0] != "https://app.example/cb2" || len(c.SecretHash) == 0 {
				t.Fatalf("stored after PUT: %+v %v", c, err)
			}
			if status, _ := jsonCall(t, http.MethodDelete, uri, rat, nil); status != http.StatusNoContent {
				t.Fatalf("DELETE: %d", status)
			}
			if status, _ := jsonCall(t, http.MethodGet, uri, rat, nil); status != 401 {
				t.Fatalf("GET after DELETE: %d", status)
			}
		})
	})
}

func TestRegistrationPolicies(t *testing.T) {
	t.Run("open registration needs no token", func(t *testing.T) {
		s := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.RegistrationPolicy = "open" })
		if status, body := register(t, s, "", map[string]any{"redirect_uris": []string{"https://app.example/cb"}}); status != http.StatusCreated {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("closed registration is neither served nor advertised", func(t *testing.T) {
		s := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.RegistrationPolicy = "closed" })
		if status, _ := register(t, s, "", map[string]any{"redirect_uris": []string{"https://app.example/cb"}}); status != http.StatusNotFound {
			t.Fatalf("status %d", status)
		}
		resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		meta := decodeJSON(t, resp.Body)
		resp.Body.Close()
		if _, ok := meta["registration_endpoint"]; ok {
			t.Fatal("a closed registration endpoint is advertised")
		}
	})
}

func TestPrivateKeyJWT(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}
		status, reg := register(t, s, mintRegistrationToken(t, s, 1), map[string]any{
			"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "private_key_jwt",
			"jwks": jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}}, "scope": "api:read",
		})
		if status != http.StatusCreated || reg["client_secret"] != nil {
			t.Fatalf("%d %v", status, reg)
		}
		clientID := reg["client_id"].(string)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		assertion := func(aud, jti string, exp time.Time) string {
			raw, err := josejwt.Signed(signer).Claims(map[string]any{
				"iss": clientID, "sub": clientID, "aud": aud, "jti": jti, "exp": exp.Unix(), "iat": time.Now().Unix(),
			}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
		grant := func(a string) (int, map[string]any) {
			resp, body := postForm(t, s.URL+"/oauth2/token", "", "", url.Values{
				"grant_type": {"client_credentials"}, "client_id": {clientID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {a},
			})
			return resp.StatusCode, body
		}
		first := assertion(s.URL+"/oauth2/token", "jti-1", time.Now().Add(time.Minute))
		t.Run("a signed assertion for the token endpoint authenticates", func(t *testing.T) {
			if status, body := grant(first); status != 200 || body["access_token"] == nil {
				t.Fatalf("%d %v", status, body)
			}
		})
		t.Run("the issuer is an accepted audience too", func(t *testing.T) {
			if status, body := grant(assertion(s.URL, "jti-2", time.Now().Add(time.Minute))); status != 200 {
				t.Fatalf("%d %v", status, body)
			}
		})
		t.Run("a replayed jti is refused", func(t *testing.T) {
			if status, body := grant(first); status != 401 || body["error"] != "invalid_client" {
				t.Fatalf("%d %v", status, body)
			}
		})
		t.Run("a wrong audience is refused", func(t *testing.T) {
			if status, body := grant(assertion("https://elsewhere.example/token", "jti-3", time.Now().Add(time.Minute))); status != 401 || body["error"] != "invalid_client" {
				t.Fatalf("%d %v", status, body)
			}
		})
		t.Run("an expired assertion is refused", func(t *testing.T) {
			if status, body := grant(assertion(s.URL+"/oauth2/token", "jti-4", time.Now().Add(-time.Minute))); status != 401 || body["error"] != "invalid_client" {
				t.Fatalf("%d %v", status, body)
			}
		})
		t.Run("the same assertions authenticate at introspection and revocation, as discovery says", func(t *testing.T) {
			withAssertion := func(endpoint, jti string, form url.Values) (int, map[string]any) {
				form.Set("client_id", clientID)
				form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
				form.Set("client_assertion", assertion(s.URL, jti, time.Now().Add(time.Minute)))
				resp, body := postForm(t, s.URL+endpoint, "", "", form)
				return resp.StatusCode, body
			}
			_, tok := grant(assertion(s.URL+"/oauth2/token", "jti-10", time.Now().Add(time.Minute)))
			at, _ := tok["access_token"].(string)
			if status, body := withAssertion("/oauth2/introspect", "jti-11", url.Values{"token": {at}}); status != 200 || body["active"] != true {
				t.Fatalf("introspection: %d %v", status, body)
			}
			// The endpoint's own URL is an audience too.
			form := url.Values{"token": {at}, "client_id": {clientID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {assertion(s.URL+"/oauth2/introspect", "jti-14", time.Now().Add(time.Minute))}}
			if resp, body := postForm(t, s.URL+"/oauth2/introspect", "", "", form); resp.StatusCode != 200 || body["active"] != true {
				t.Fatalf("introspection with its own URL as audience: %d %v", resp.StatusCode, body)
			}
			if status, body := withAssertion("/oauth2/revoke", "jti-12", url.Values{"token": {at}}); status != 200 {
				t.Fatalf("revocation: %d %v", status, body)
			}
			if status, body := withAssertion("/oauth2/introspect", "jti-13", url.Values{"token": {at}}); status != 200 || body["active"] != false {
				t.Fatalf("introspection after revocation: %d %v", status, body)
			}
			var meta map[string]any
			resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_ = json.NewDecoder(resp.Body).Decode(&meta)
			for _, m := range []string{"introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
				if !slices.Contains(meta[m].([]any), any("private_key_jwt")) {
					t.Errorf("%s = %v", m, meta[m])
				}
			}
		})
		t.Run("an assertion signed with a key the client never registered is invalid_client", func(t *testing.T) {
			other, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			forger, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: other, KeyID: "k9"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := josejwt.Signed(forger).Claims(map[string]any{
				"iss": clientID, "sub": clientID, "aud": s.URL + "/oauth2/token", "jti": "jti-5", "exp": time.Now().Add(time.Minute).Unix(),
			}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			if status, body := grant(raw); status != 401 || body["error"] != "invalid_client" {
				t.Fatalf("%d %v", status, body)
			}
		})
		t.Run("a key registered without use signs assertions (RFC 7517 §4.2)", func(t *testing.T) {
			bare := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256"}
			status, reg := register(t, s, mintRegistrationToken(t, s, 1), map[string]any{
				"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "private_key_jwt",
				"jwks": jose.JSONWebKeySet{Keys: []jose.JSONWebKey{bare}}, "scope": "api:read",
			})
			if status != http.StatusCreated {
				t.Fatalf("%d %v", status, reg)
			}
			id := reg["client_id"].(string)
			raw, err := josejwt.Signed(signer).Claims(map[string]any{
				"iss": id, "sub": id, "aud": s.URL + "/oauth2/token", "jti": "jti-6", "exp": time.Now().Add(time.Minute).Unix(),
			}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			resp, body := postForm(t, s.URL+"/oauth2/token", "", "", url.Values{
				"grant_type": {"client_credentials"}, "client_id": {id},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {raw},
			})
			if resp.StatusCode != 200 || body["access_token"] == nil {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
		})
	})
}
