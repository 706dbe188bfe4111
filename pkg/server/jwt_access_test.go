package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

const (
	apiAudience   = "https://api.example.com"
	otherAudience = "https://reports.example.com"
)

// verifyWithJWKS checks an access token with an independent JOSE library
// (lestrrat-go/jwx, not the go-jose that signs it) against the JWKS found
// through discovery's jwks_uri, and returns its header and claims.
func verifyWithJWKS(t *testing.T, s *testServer, token string) (jws.Headers, map[string]any) {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	disc := decodeJSON(t, resp.Body)
	resp.Body.Close()
	set, err := jwk.Fetch(context.Background(), disc["jwks_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 {
		t.Fatalf("not a JWS with one signature: %v", err)
	}
	// jwx picks the key by the token's kid and refuses a token without one.
	parsed, err := jwt.Parse([]byte(token), jwt.WithKeySet(set, jws.WithRequireKid(true)), jwt.WithValidate(true),
		jwt.WithIssuer(s.URL))
	if err != nil {
		t.Fatalf("the access token does not verify against the JWKS: %v", err)
	}
	claims, err := parsed.AsMap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return msg.Signatures()[0].ProtectedHeaders(), claims
}

func grantWith(t *testing.T, s *testServer, reg clients.Registered, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	form.Set("grant_type", "client_credentials")
	return postForm(t, s.URL+"/oauth2/token", reg.Client.ID, reg.Secret, form)
}

func audienceOf(claims map[string]any) []string {
	var out []string
	switch aud := claims["aud"].(type) {
	case string:
		out = []string{aud}
	case []string:
		out = aud
	case []any:
		for _, a := range aud {
			out = append(out, a.(string))
		}
	}
	slices.Sort(out)
	return out
}

func TestJWTAccessTokens(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		spec := machineClient("api:read")
		spec.Audience = []string{apiAudience, otherAudience}
		spec.AccessTokenFormat = storage.AccessTokenJWT
		app := s.createClient(t, spec)
		rs := s.createClient(t, machineClient())

		t.Run("a client-credentials token is an RFC 9068 JWT that verifies against the JWKS", func(t *testing.T) {
			resp, body := grantWith(t, s, app, url.Values{"scope": {"api:read"}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("token: %d %v", resp.StatusCode, body)
			}
			h, c := verifyWithJWKS(t, s, body["access_token"].(string))
			if h.Type() != "at+jwt" || h.KeyID() == "" || h.Algorithm().String() != "RS256" {
				t.Errorf("header typ %q kid %q alg %q; want at+jwt, a kid, RS256", h.Type(), h.KeyID(), h.Algorithm())
			}
			// RFC 9068 §2.2: with no resource owner, sub is the client.
			if c["client_id"] != app.Client.ID || c["sub"] != app.Client.ID || c["scope"] != "api:read" || c["jti"] == "" {
				t.Errorf("claims %v", c)
			}
			if !slices.Equal(audienceOf(c), []string{apiAudience, otherAudience}) {
				t.Errorf("aud %v, want every audience of the client", c["aud"])
			}
			iat, _ := c["iat"].(time.Time)
			exp, _ := c["exp"].(time.Time)
			if iat.IsZero() || exp.Sub(iat) < 59*time.Minute || exp.Sub(iat) > time.Hour+time.Second {
				t.Errorf("iat %v exp %v, want an hour apart", iat, exp)
			}
			if body["token_type"] != "bearer" || body["expires_in"] == nil {
				t.Errorf("token answer %v", body)
			}
		})

		t.Run("resource names the token's audience (RFC 8707)", func(t *testing.T) {
			resp, body := grantWith(t, s, app, url.Values{"resource": {apiAudience}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("token: %d %v", resp.StatusCode, body)
			}
			if _, c := verifyWithJWKS(t, s, body["access_token"].(string)); !slices.Equal(audienceOf(c), []string{apiAudience}) {
				t.Errorf("aud %v, want only %s", c["aud"], apiAudience)
			}
		})

		t.Run("a resource that is not an audience of the client is invalid_target", func(t *testing.T) {
			for _, res := range []string{"https://evil.example.com", "not-a-uri", apiAudience + "#frag"} {
				resp, body := grantWith(t, s, app, url.Values{"resource": {res}})
				if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_target" {
					t.Errorf("resource %q: %d %v, want 400 invalid_target", res, resp.StatusCode, body)
				}
			}
		})

		t.Run("introspection reports a JWT, and a revoked one inactive", func(t *testing.T) {
			_, body := grantWith(t, s, app, url.Values{"scope": {"api:read"}})
			token := body["access_token"].(string)
			_, in := postForm(t, s.URL+"/oauth2/introspect", rs.Client.ID, rs.Secret, url.Values{"token": {token}})
			if in["active"] != true || in["client_id"] != app.Client.ID || in["scope"] != "api:read" || in["token_type"] != "Bearer" {
				t.Fatalf("introspection %v", in)
			}
			resp, _ := postForm(t, s.URL+"/oauth2/revoke", app.Client.ID, app.Secret, url.Values{"token": {token}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			// At once on the replica that revoked it, cache or not.
			if _, in := postForm(t, s.URL+"/oauth2/introspect", rs.Client.ID, rs.Secret, url.Values{"token": {token}}); in["active"] != false || len(in) != 1 {
				t.Errorf("a revoked JWT introspects as %v", in)
			}
			// Offline it still verifies: the docs say so.
			verifyWithJWKS(t, s, token)
		})

		t.Run("a JWT signed before a key rotation still verifies by its kid", func(t *testing.T) {
			_, body := grantWith(t, s, app, url.Values{})
			token := body["access_token"].(string)
			admin := adminToken(t, s)
			adminCall(t, s, http.MethodPost, "/keys/rotate", admin, map[string]any{"alg": "RS256"}).want(t, http.StatusCreated)
			if _, in := postForm(t, s.URL+"/oauth2/introspect", rs.Client.ID, rs.Secret, url.Values{"token": {token}}); in["active"] != true {
				t.Errorf("a JWT of the rotated-out key introspects as %v", in)
			}
			_, body = grantWith(t, s, app, url.Values{})
			h1, _ := verifyWithJWKS(t, s, token)
			h2, _ := verifyWithJWKS(t, s, body["access_token"].(string))
			if h1.KeyID() == h2.KeyID() {
				t.Errorf("both tokens name kid %s; the new one should name the new key", h1.KeyID())
			}
		})

		t.Run("a forged or foreign JWT is inactive", func(t *testing.T) {
			_, body := grantWith(t, s, app, url.Values{})
			token := []byte(body["access_token"].(string))
			token[len(token)-5] ^= 1 // a signature that no longer matches
			_, in := postForm(t, s.URL+"/oauth2/introspect", rs.Client.ID, rs.Secret, url.Values{"token": {string(token)}})
			if in["active"] != false {
				t.Errorf("a tampered JWT introspects as %v", in)
			}
		})

		t.Run("opaque clients keep opaque tokens", func(t *testing.T) {
			opaque := s.createClient(t, machineClient("api:read"))
			_, body := grantWith(t, s, opaque, url.Values{})
			if tok, _ := body["access_token"].(string); len(tok) < 8 || tok[:8] != "gate_at_" {
				t.Errorf("token %q", tok)
			}
		})
	})
}

func TestJWTAccessTokenOfACustomer(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		createAlice(t, s)
		spec := webClient(true)
		spec.GrantTypes = []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken}
		spec.Audience = []string{apiAudience, otherAudience}
		spec.AccessTokenFormat = storage.AccessTokenJWT
		spec.SubjectType = "pairwise"
		rp := newRelyingParty(t, s, spec)

		f := newFlow()
		cb := rp.signIn(f, oauth2.SetAuthURLParam("resource", apiAudience))
		tok, idt := rp.exchange(f, cb.Get("code"))
		h, c := verifyWithJWKS(t, s, tok.AccessToken)
		if h.Type() != "at+jwt" {
			t.Errorf("typ %q", h.Type())
		}
		t.Run("claims: pairwise sub, auth_time, acr, the resource's audience", func(t *testing.T) {
			if c["sub"] != idt.Subject || c["client_id"] != rp.reg.Client.ID {
				t.Errorf("sub %v client_id %v; the ID token's sub is %s", c["sub"], c["client_id"], idt.Subject)
			}
			var id map[string]any
			if err := idt.Claims(&id); err != nil {
				t.Fatal(err)
			}
			authTime, _ := c["auth_time"].(float64)
			if int64(authTime) != int64(id["auth_time"].(float64)) || c["acr"] != id["acr"] || c["acr"] == nil {
				t.Errorf("auth_time %v acr %v; the ID token says %v and %v", c["auth_time"], c["acr"], id["auth_time"], id["acr"])
			}
			if !slices.Equal(audienceOf(c), []string{apiAudience}) {
				t.Errorf("aud %v", c["aud"])
			}
			if _, ok := c["roles"]; ok {
				t.Errorf("roles %v without the roles scope", c["roles"])
			}
		})
		t.Run("with the roles scope: the customer's global roles and this client's own", func(t *testing.T) {
			ctx := context.Background()
			acct := s.Services().Accounts
			alice, err := s.Store().GetUserByEmail(ctx, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			for _, clientID := range []string{"", rp.reg.Client.ID} {
				r, err := acct.CreateRole(ctx, accounts.NewRole{Name: "editor" + clientID[:min(len(clientID), 4)], ClientID: clientID})
				if err != nil {
					t.Fatal(err)
				}
				if err := acct.AssignRole(ctx, alice.ID, r.ID); err != nil {
					t.Fatal(err)
				}
			}
			rp.oauth.Scopes = append(rp.oauth.Scopes, "roles")
			defer func() { rp.oauth.Scopes = rp.oauth.Scopes[:len(rp.oauth.Scopes)-1] }()
			f := newFlow()
			tok, _ := rp.exchange(f, rp.signIn(f, oauth2.SetAuthURLParam("resource", apiAudience)).Get("code"))
			_, c := verifyWithJWKS(t, s, tok.AccessToken)
			roles, _ := c["roles"].([]any)
			if len(roles) != 2 {
				t.Errorf("roles %v, want the global role and the client's", c["roles"])
			}
		})
		t.Run("userinfo accepts it", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := decodeJSON(t, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || body["sub"] != idt.Subject || body["email"] != "alice@example.com" {
				t.Errorf("userinfo %d %v", resp.StatusCode, body)
			}
		})
		t.Run("a refresh makes the old JWT inactive, and resource narrows within the grant", func(t *testing.T) {
			_, body := postForm(t, s.URL+"/oauth2/token", rp.reg.Client.ID, rp.reg.Secret, url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "resource": {otherAudience}})
			if body["error"] != "invalid_target" {
				t.Errorf("a resource outside the grant: %v, want invalid_target", body)
			}
			_, body = postForm(t, s.URL+"/oauth2/token", rp.reg.Client.ID, rp.reg.Secret, url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
			if body["access_token"] == nil {
				t.Fatalf("refresh: %v", body)
			}
			if active(t, s, rp, tok.AccessToken) {
				t.Error("the access token of a rotated refresh token is still active")
			}
			if !active(t, s, rp, body["access_token"].(string)) {
				t.Error("the refreshed JWT is inactive")
			}
		})
	})
}

// TestTokenCacheBoundAcrossReplicas runs two replicas of one issuer on
// one PostgreSQL database: a revocation through one is seen by the other
// within token_cache_ttl, although the other had the token cached; so is
// a client's deletion, for its sealed tokens (opaque client-credentials
// tokens are sealed: docs/flows.md).
func TestTokenCacheBoundAcrossReplicas(t *testing.T) {
	dbURL := gormstoretest.PostgresURL(t)
	a := startServerWith(t, dbURL, func(c *config.Config) { c.TokenCacheTTL = time.Second })
	b := startServerWith(t, dbURL, func(c *config.Config) { c.TokenCacheTTL, c.Issuer = time.Second, a.URL })
	for _, tc := range []struct {
		format string
		end    string // how the token ends: revoke or delete (its client)
	}{{storage.AccessTokenOpaque, "revoke"}, {storage.AccessTokenJWT, "revoke"}, {storage.AccessTokenOpaque, "delete"}} {
		t.Run(tc.format+" "+tc.end, func(t *testing.T) {
			spec := machineClient("api:read")
			spec.Audience, spec.AccessTokenFormat = []string{apiAudience}, tc.format
			app := a.createClient(t, spec)
			rs := a.createClient(t, machineClient())
			_, body := grantWith(t, a, app, url.Values{})
			token := body["access_token"].(string)
			introspect := func(s *testServer) bool {
				_, in := postForm(t, s.addr+"/oauth2/introspect", rs.Client.ID, rs.Secret, url.Values{"token": {token}})
				return in["active"] == true
			}
			if !introspect(b) || !introspect(b) {
				t.Fatal("the token is not active on the other replica")
			}
			ended := time.Now()
			if tc.end == "delete" {
				if err := a.Store().DeleteClient(context.Background(), app.Client.ID); err != nil {
					t.Fatal(err)
				}
			} else if resp, _ := postForm(t, a.URL+"/oauth2/revoke", app.Client.ID, app.Secret, url.Values{"token": {token}}); resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if introspect(a) {
				t.Error("the replica that ended the token still reports it active")
			}
			// The bound: once a TTL has passed since the change, the other
			// replica's cached answer has expired.
			time.Sleep(time.Second - time.Since(ended))
			if introspect(b) {
				t.Error("a second after the change the other replica still reports the token active")
			}
		})
	}
}
