package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// registeredParty registers a code client at the registration endpoint and
// returns a relying party for it, sharing the browser b.
func registeredParty(t *testing.T, s *testServer, b *browser.Browser, metadata map[string]any) *relyingParty {
	t.Helper()
	status, reg := register(t, s, mintRegistrationToken(t, s, 1), metadata)
	if status != http.StatusCreated {
		t.Fatalf("registration: %d %v", status, reg)
	}
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	redirect := metadata["redirect_uris"].([]string)[0]
	return &relyingParty{
		t: t, s: s, reg: clients.Registered{Secret: secret}, provider: provider,
		verifier: provider.Verifier(&gooidc.Config{ClientID: id}),
		oauth: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(),
			RedirectURL: redirect, Scopes: []string{gooidc.ScopeOpenID}},
		browser: b, callbackPrefix: redirect,
	}
}

func TestPairwiseSubjects(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		// The sector identifier is served over http on 127.0.0.1.
		s := startServerWith(t, db.URL, allowLoopbackURLs)
		aliceID := createAlice(t, s)
		sectorDoc := []string{"https://c.example/cb", "https://d.example/cb"}
		sector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(sectorDoc)
		}))
		defer sector.Close()
		b := browser.New(s.URL)
		subOf := func(rp *relyingParty) string {
			f := newFlow()
			cb := rp.signIn(f)
			_, idt := rp.exchange(f, cb.Get("code"))
			return idt.Subject
		}
		pairwise := func(redirects []string, extra map[string]any) map[string]any {
			m := map[string]any{"redirect_uris": redirects, "subject_type": "pairwise"}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}

		a := subOf(registeredParty(t, s, b, pairwise([]string{"https://a.example/cb"}, nil)))
		a2 := subOf(registeredParty(t, s, b, pairwise([]string{"https://a.example/other"}, nil)))
		bSub := subOf(registeredParty(t, s, b, pairwise([]string{"https://b.example/cb"}, nil)))
		c := subOf(registeredParty(t, s, b, pairwise(sectorDoc, map[string]any{"sector_identifier_uri": sector.URL})))
		public := subOf(registeredParty(t, s, b, map[string]any{"redirect_uris": []string{"https://a.example/cb"}}))

		t.Run("registration reports the pairwise subject type and the sector URI", func(t *testing.T) {
			status, reg := register(t, s, mintRegistrationToken(t, s, 1), pairwise(sectorDoc, map[string]any{"sector_identifier_uri": sector.URL}))
			if status != http.StatusCreated || reg["subject_type"] != "pairwise" || reg["sector_identifier_uri"] != sector.URL {
				t.Fatalf("%d %v", status, reg)
			}
		})
		t.Run("the same sector sees the same sub", func(t *testing.T) {
			if a != a2 {
				t.Fatalf("%s != %s", a, a2)
			}
		})
		t.Run("different sectors see different subs, none of them the customer's id", func(t *testing.T) {
			if a == bSub || a == c || bSub == c || a == aliceID || c == aliceID {
				t.Fatalf("a %s b %s c %s id %s", a, bSub, c, aliceID)
			}
		})
		t.Run("a public client sees the customer's id", func(t *testing.T) {
			if public != aliceID {
				t.Fatalf("public sub %s, want %s", public, aliceID)
			}
		})
		t.Run("userinfo answers the same pairwise sub as the ID token", func(t *testing.T) {
			rp := registeredParty(t, s, b, pairwise([]string{"https://a.example/cb3"}, map[string]any{"grant_types": []string{"authorization_code"}}))
			f := newFlow()
			cb := rp.signIn(f)
			tok, idt := rp.exchange(f, cb.Get("code"))
			ui, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatal(err)
			}
			if ui.Subject != idt.Subject || idt.Subject != a {
				t.Fatalf("userinfo %s, id token %s, sector a %s", ui.Subject, idt.Subject, a)
			}
			// Introspection does not give the customer's own id away either.
			_, intro := postForm(t, s.URL+"/oauth2/introspect", rp.oauth.ClientID, rp.oauth.ClientSecret, map[string][]string{"token": {tok.AccessToken}})
			if intro["active"] != true || intro["sub"] != idt.Subject {
				t.Fatalf("introspection %v, id token sub %s", intro, idt.Subject)
			}
		})
		t.Run("userinfo_signed_response_alg makes userinfo a signed JWT", func(t *testing.T) {
			rp := registeredParty(t, s, b, map[string]any{"redirect_uris": []string{"https://signed.example/cb"}, "userinfo_signed_response_alg": "RS256"})
			f := newFlow()
			cb := rp.signIn(f)
			tok, idt := rp.exchange(f, cb.Get("code"))
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != "application/jwt" {
				t.Fatalf("Content-Type %q", ct)
			}
			// go-oidc verifies a JWT userinfo answer against the JWKS.
			ui, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			_ = ui.Claims(&claims)
			if ui.Subject != idt.Subject || claims["iss"] != s.URL || claims["aud"] != rp.oauth.ClientID {
				t.Fatalf("claims = %v", claims)
			}
		})
		t.Run("the consent page names the client in the page's language, with its policy and terms", func(t *testing.T) {
			fresh := browser.New(s.URL)
			rp := registeredParty(t, s, fresh, map[string]any{
				"redirect_uris": []string{"https://fr.example/cb"}, "client_name": "Photo Album", "client_name#fr": "Album photo",
				"policy_uri": "https://fr.example/privacy", "tos_uri": "https://fr.example/terms",
			})
			page := rp.login(rp.start(newFlow(), oauth2.SetAuthURLParam("ui_locales", "fr")), "alice@example.com", alicePassword)
			for _, want := range []string{"Album photo", `href="https://fr.example/privacy"`, `href="https://fr.example/terms"`, `<html lang="fr"`} {
				if !strings.Contains(page.Body, want) {
					t.Fatalf("consent page lacks %q: %.800s", want, page.Body)
				}
			}
		})
		t.Run("registration refuses a pairwise client with several hosts and no sector_identifier_uri", func(t *testing.T) {
			status, body := register(t, s, mintRegistrationToken(t, s, 1), pairwise([]string{"https://a.example/cb", "https://b.example/cb"}, nil))
			if status != 400 || body["error"] != "invalid_client_metadata" || !strings.Contains(body["error_description"].(string), "sector_identifier_uri") {
				t.Fatalf("%d %v", status, body)
			}
		})
		t.Run("registration refuses a sector_identifier_uri that does not list a redirect URI", func(t *testing.T) {
			status, body := register(t, s, mintRegistrationToken(t, s, 1), pairwise([]string{"https://e.example/cb"}, map[string]any{"sector_identifier_uri": sector.URL}))
			if status != 400 || body["error"] != "invalid_client_metadata" || !strings.Contains(body["error_description"].(string), "sector_identifier_uri") {
				t.Fatalf("%d %v", status, body)
			}
		})
	})
}
