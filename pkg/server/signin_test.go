package server_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

const (
	rpCallback    = "https://rp.example/callback"
	rpLoggedOut   = "https://rp.example/logged-out"
	alicePassword = "correct horse battery"
)

// relyingParty is an app that signs customers in through Gatehouse with
// go-oidc and x/oauth2, as a real one would, and a browser for its customer.
type relyingParty struct {
	t        *testing.T
	s        *testServer
	reg      clients.Registered
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	oauth    oauth2.Config
	browser  *browser.Browser
	// callbackPrefix is the redirect URI the browser comes back to; empty
	// means rpCallback.
	callbackPrefix string
}

func newRelyingParty(t *testing.T, s *testServer, spec clients.Spec) *relyingParty {
	t.Helper()
	reg := s.createClient(t, spec)
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &relyingParty{
		t: t, s: s, reg: reg, provider: provider,
		verifier: provider.Verifier(&gooidc.Config{ClientID: reg.Client.ID}),
		oauth: oauth2.Config{
			ClientID: reg.Client.ID, ClientSecret: reg.Secret, Endpoint: provider.Endpoint(),
			RedirectURL: rpCallback, Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "offline_access"},
		},
		browser: browser.New(s.URL),
	}
}

func webClient(skipConsent bool) clients.Spec {
	return clients.Spec{
		Name: "Photo Album", RedirectURIs: []string{rpCallback}, PostLogoutRedirectURIs: []string{rpLoggedOut},
		SkipConsent: skipConsent,
	}
}

func createAlice(t *testing.T, s *testServer) string {
	t.Helper()
	svc := identity.NewService(s.Store(), identity.OWASPMinimum, identity.PasswordPolicy{})
	u, err := svc.Create(context.Background(), identity.NewUser{Email: "alice@example.com", Password: alicePassword, Name: "Alice Liddell", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// flow is one authorization request's state on the relying party's side.
type flow struct {
	state, nonce, verifier string
}

func newFlow() flow {
	return flow{state: "st-" + randomString(), nonce: "n-" + randomString(), verifier: oauth2.GenerateVerifier()}
}

func randomString() string { return oauth2.GenerateVerifier()[:16] }

// start sends the browser to the authorization endpoint.
func (rp *relyingParty) start(f flow, extra ...oauth2.AuthCodeOption) *browser.Page {
	rp.t.Helper()
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, extra...)
	page, err := rp.browser.Get(rp.oauth.AuthCodeURL(f.state, opts...))
	if err != nil {
		rp.t.Fatal(err)
	}
	return page
}

// login fills in the sign-in form.
func (rp *relyingParty) login(page *browser.Page, email, password string) *browser.Page {
	rp.t.Helper()
	form, err := page.FormWith("password")
	if err != nil {
		rp.t.Fatal(err)
	}
	next, err := rp.browser.Submit(form, url.Values{"email": {email}, "password": {password}}, "", "")
	if err != nil {
		rp.t.Fatal(err)
	}
	return next
}

// decide answers the consent page.
func (rp *relyingParty) decide(page *browser.Page, decision string) *browser.Page {
	rp.t.Helper()
	form, err := page.FormWith("decision")
	if err != nil {
		rp.t.Fatal(err)
	}
	next, err := rp.browser.Submit(form, nil, "decision", decision)
	if err != nil {
		rp.t.Fatal(err)
	}
	return next
}

// callback returns the parameters the browser brought back to the client,
// from the query or the fragment.
func (rp *relyingParty) callback(page *browser.Page) url.Values {
	rp.t.Helper()
	prefix := rp.callbackPrefix
	if prefix == "" {
		prefix = rpCallback
	}
	if page.Location == "" || !strings.HasPrefix(page.Location, prefix) {
		rp.t.Fatalf("expected a redirect to the client, got %d at %s: %.600s", page.Status, page.URL, page.Body)
	}
	u, err := url.Parse(page.Location)
	if err != nil {
		rp.t.Fatal(err)
	}
	if u.Fragment != "" {
		v, _ := url.ParseQuery(u.Fragment)
		return v
	}
	return u.Query()
}

// signIn runs a whole first sign-in: authorize, sign in, consent, and
// returns the callback parameters.
func (rp *relyingParty) signIn(f flow, extra ...oauth2.AuthCodeOption) url.Values {
	rp.t.Helper()
	page := rp.start(f, extra...)
	if _, err := page.FormWith("password"); err == nil {
		page = rp.login(page, "alice@example.com", alicePassword)
	}
	if _, err := page.FormWith("decision"); err == nil {
		page = rp.decide(page, "allow")
	}
	return rp.callback(page)
}

// exchange trades a code for tokens with PKCE and verifies the ID token.
func (rp *relyingParty) exchange(f flow, code string) (*oauth2.Token, *gooidc.IDToken) {
	rp.t.Helper()
	ctx := context.Background()
	tok, err := rp.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		rp.t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		rp.t.Fatalf("ID token does not verify: %v", err)
	}
	if idt.Nonce != f.nonce {
		rp.t.Fatalf("nonce %q, want %q", idt.Nonce, f.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		rp.t.Fatalf("at_hash: %v", err)
	}
	return tok, idt
}

func TestSignIn(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		testSignIn(t, db.URL)
	})
}

func testSignIn(t *testing.T, databaseURL string) {
	// The back-channel logout receiver is served over http on 127.0.0.1.
	s := startServerWith(t, databaseURL, allowLoopbackURLs)
	aliceID := createAlice(t, s)
	ctx := context.Background()

	t.Run("code flow with PKCE signs in, consents, and returns a verified ID token", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(false))
		f := newFlow()
		page := rp.start(f)
		if page.Status != http.StatusOK || !strings.Contains(page.Body, `type="password"`) {
			t.Fatalf("expected the sign-in page, got %d: %.300s", page.Status, page.Body)
		}
		page = rp.login(page, "alice@example.com", alicePassword)
		if !strings.Contains(page.Body, "Photo Album") {
			t.Fatalf("consent page does not name the client: %.500s", page.Body)
		}
		cb := rp.callback(rp.decide(page, "allow"))
		if cb.Get("state") != f.state || cb.Get("iss") != s.URL || cb.Get("code") == "" {
			t.Fatalf("callback = %v", cb)
		}
		tok, idt := rp.exchange(f, cb.Get("code"))
		if idt.Subject != aliceID || idt.Issuer != s.URL {
			t.Errorf("sub %q iss %q", idt.Subject, idt.Issuer)
		}
		var claims map[string]any
		_ = idt.Claims(&claims)
		for _, c := range []string{"auth_time", "sid", "at_hash", "amr", "acr", "azp"} {
			if _, ok := claims[c]; !ok {
				t.Errorf("ID token lacks %s: %v", c, claims)
			}
		}
		if _, ok := claims["email"]; ok {
			t.Errorf("scope claims must go to userinfo when an access token is issued: %v", claims)
		}
		if tok.RefreshToken == "" {
			t.Error("offline_access granted but no refresh token")
		}
		ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		var info map[string]any
		_ = ui.Claims(&info)
		if ui.Subject != aliceID || ui.Email != "alice@example.com" || !ui.EmailVerified || info["name"] != "Alice Liddell" {
			t.Errorf("userinfo = %v", info)
		}
		t.Run("a parameter sent twice is invalid_request with state and iss", func(t *testing.T) {
			// RFC 6749 §3.1 and §4.1.2.1.
			f := newFlow()
			cb := rp.callback(rp.start(f, oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("ui_locales", "en"),
				oauth2.SetAuthURLParam("display", "page")))
			if cb.Get("code") == "" {
				t.Fatalf("the control request failed: %v", cb)
			}
			page, err := rp.browser.Get(rp.oauth.AuthCodeURL(f.state, gooidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)) + "&scope=openid")
			if err != nil {
				t.Fatal(err)
			}
			cb = rp.callback(page)
			if cb.Get("error") != "invalid_request" || cb.Get("state") != f.state || cb.Get("iss") != s.URL {
				t.Fatalf("callback = %v", cb)
			}
		})
		t.Run("state may be short or missing, and is never made up", func(t *testing.T) {
			// state is RECOMMENDED, with no length rule (RFC 6749 §4.1.1).
			f := newFlow()
			f.state = "abc"
			if cb := rp.callback(rp.start(f)); cb.Get("state") != "abc" || cb.Get("code") == "" {
				t.Fatalf("callback with a short state = %v", cb)
			}
			f = newFlow()
			f.state = ""
			cb := rp.callback(rp.start(f))
			if cb.Get("code") == "" || cb.Get("iss") != s.URL || cb.Has("state") {
				t.Fatalf("callback without state = %v", cb)
			}
			rp.exchange(f, cb.Get("code"))
			// An error answer without state carries none either.
			cb = rp.callback(rp.start(f, oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("max_age", "0")))
			if cb.Get("error") != "login_required" || cb.Has("state") {
				t.Fatalf("error callback without state = %v", cb)
			}
		})
		t.Run("introspection tells the customer's email only to the token's client", func(t *testing.T) {
			// RFC 7662 §4: what a caller may learn is the server's policy.
			other := s.createClient(t, machineClient("api:read"))
			_, mine := postForm(t, s.URL+"/oauth2/introspect", rp.oauth.ClientID, rp.oauth.ClientSecret, url.Values{"token": {tok.AccessToken}})
			_, theirs := postForm(t, s.URL+"/oauth2/introspect", other.Client.ID, other.Secret, url.Values{"token": {tok.AccessToken}})
			if mine["active"] != true || mine["username"] != "alice@example.com" || mine["sub"] != aliceID {
				t.Errorf("the token's client got %v", mine)
			}
			if theirs["active"] != true || theirs["username"] != nil || theirs["sub"] != aliceID {
				t.Errorf("another client got %v", theirs)
			}
		})
		t.Run("userinfo refuses the refresh token as a bearer token", func(t *testing.T) {
			// RFC 6749 §1.5: refresh tokens are never sent to resource servers.
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok.RefreshToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
		t.Run("userinfo refuses a token sent both in the header and the body", func(t *testing.T) {
			// RFC 6750 §2 and §3.1: one method only, or invalid_request.
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/userinfo", strings.NewReader(url.Values{"access_token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_request"`) {
				t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})

		t.Run("SSO: a second authorization skips the sign-in and the remembered consent", func(t *testing.T) {
			f2 := newFlow()
			cb := rp.callback(rp.start(f2))
			if cb.Get("code") == "" || cb.Get("state") != f2.state {
				t.Fatalf("callback = %v", cb)
			}
			rp.exchange(f2, cb.Get("code"))
		})
		t.Run("prompt=login forces the sign-in page and a newer auth_time", func(t *testing.T) {
			time.Sleep(1100 * time.Millisecond)
			f3 := newFlow()
			page := rp.start(f3, oauth2.SetAuthURLParam("prompt", "login"))
			if _, err := page.FormWith("password"); err != nil {
				t.Fatal("prompt=login did not show the sign-in page")
			}
			cb := rp.callback(rp.login(page, "alice@example.com", alicePassword))
			_, idt3 := rp.exchange(f3, cb.Get("code"))
			var c3 struct {
				AuthTime int64 `json:"auth_time"`
			}
			_ = idt3.Claims(&c3)
			if c3.AuthTime <= int64(claims["auth_time"].(float64)) {
				t.Errorf("auth_time %d not after the first sign-in's %v", c3.AuthTime, claims["auth_time"])
			}
		})
		t.Run("max_age=0 forces the sign-in page", func(t *testing.T) {
			f4 := newFlow()
			page := rp.start(f4, oauth2.SetAuthURLParam("max_age", "0"))
			if _, err := page.FormWith("password"); err != nil {
				t.Fatal("max_age=0 did not show the sign-in page")
			}
		})
		t.Run("prompt=consent shows the consent page again", func(t *testing.T) {
			page := rp.start(newFlow(), oauth2.SetAuthURLParam("prompt", "consent"))
			if _, err := page.FormWith("decision"); err != nil {
				t.Fatal("prompt=consent did not show the consent page")
			}
		})
		t.Run("id_token_hint of another customer with prompt=none gives login_required", func(t *testing.T) {
			// Bob signs in in his own browser; Alice's real ID token is the hint.
			other := newRelyingParty(t, s, webClient(true))
			svc := identity.NewService(s.Store(), identity.OWASPMinimum, identity.PasswordPolicy{})
			if _, err := svc.Create(ctx, identity.NewUser{Email: "bob@example.com", Password: "tuba ketchup lantern 9"}); err != nil {
				t.Fatal(err)
			}
			fb := newFlow()
			page := other.start(fb)
			cb := other.callback(other.login(page, "bob@example.com", "tuba ketchup lantern 9"))
			if cb.Get("code") == "" {
				t.Fatalf("bob's sign-in: %v", cb)
			}
			// Bob's browser, Alice's ID token as the hint.
			aliceIDToken, _ := tok.Extra("id_token").(string)
			page = other.start(newFlow(), oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", aliceIDToken))
			if got := other.callback(page).Get("error"); got != "login_required" {
				t.Errorf("error = %q, want login_required", got)
			}
		})
	})

	t.Run("prompt=none without a session returns login_required", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		cb := rp.callback(rp.start(f, oauth2.SetAuthURLParam("prompt", "none")))
		if cb.Get("error") != "login_required" || cb.Get("state") != f.state || cb.Get("iss") != s.URL {
			t.Fatalf("callback = %v", cb)
		}
	})

	t.Run("prompt=none when consent is needed returns consent_required", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(false))
		// Sign in through a first-party client so the browser has a session.
		first := newRelyingParty(t, s, webClient(true))
		first.browser = rp.browser
		first.signIn(newFlow())
		cb := rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("prompt", "none")))
		if cb.Get("error") != "consent_required" {
			t.Fatalf("callback = %v", cb)
		}
	})

	t.Run("deny sends access_denied with state and iss", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(false))
		f := newFlow()
		page := rp.login(rp.start(f), "alice@example.com", alicePassword)
		cb := rp.callback(rp.decide(page, "deny"))
		if cb.Get("error") != "access_denied" || cb.Get("state") != f.state || cb.Get("iss") != s.URL {
			t.Fatalf("callback = %v", cb)
		}
	})

	t.Run("a wrong password gets the same message as an unknown email", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		page := rp.start(newFlow())
		wrong := rp.login(page, "alice@example.com", "not the password")
		unknown := rp.login(page, "nobody@example.com", "not the password")
		if wrong.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized {
			t.Fatalf("statuses %d %d", wrong.Status, unknown.Status)
		}
		if errorText(wrong.Body) == "" || errorText(wrong.Body) != errorText(unknown.Body) {
			t.Fatalf("messages differ or are missing: %q vs %q", errorText(wrong.Body), errorText(unknown.Body))
		}
		t.Run("and switching language then keeps the sign-in going", func(t *testing.T) {
			m := regexp.MustCompile(`<a href="([^"]+)" lang="fr"`).FindStringSubmatch(wrong.Body)
			if m == nil {
				t.Fatal("no French link on the page")
			}
			link, err := wrong.URL.Parse(html.UnescapeString(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			page, err := rp.browser.Get(link.String())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := page.FormWith("password"); err != nil || page.Status != http.StatusOK || !strings.Contains(page.Body, `lang="fr"`) {
				t.Fatalf("%s gave %d: %.300s", link, page.Status, page.Body)
			}
		})
	})

	t.Run("reused code is refused and revokes the tokens issued from it", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		cb := rp.signIn(f)
		tok, _ := rp.exchange(f, cb.Get("code"))
		_, err := rp.oauth.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(f.verifier))
		var re *oauth2.RetrieveError
		if err == nil || !asRetrieveError(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("second exchange: %v", err)
		}
		if active(t, s, rp, tok.AccessToken) || active(t, s, rp, tok.RefreshToken) {
			t.Fatal("tokens of a reused code are still active")
		}
	})

	t.Run("a refresh token rotates, and reusing the old one revokes the family", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		cb := rp.signIn(f)
		tok1, idt1 := rp.exchange(f, cb.Get("code"))
		tok2, err := rp.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok1.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok2.RefreshToken == "" || tok2.RefreshToken == tok1.RefreshToken {
			t.Fatal("refresh did not rotate the refresh token")
		}
		raw, _ := tok2.Extra("id_token").(string)
		idt2, err := rp.verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var c1, c2 map[string]any
		_ = idt1.Claims(&c1)
		_ = idt2.Claims(&c2)
		for _, k := range []string{"iss", "sub", "aud", "azp", "auth_time"} {
			if !jsonEqual(c1[k], c2[k]) {
				t.Errorf("refreshed ID token changed %s: %v -> %v", k, c1[k], c2[k])
			}
		}
		_, err = rp.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok1.RefreshToken}).Token()
		var re *oauth2.RetrieveError
		if err == nil || !asRetrieveError(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("reuse: %v", err)
		}
		if active(t, s, rp, tok2.AccessToken) || active(t, s, rp, tok2.RefreshToken) {
			t.Fatal("the family survived the reuse of an old refresh token")
		}
	})

	t.Run("a refresh asking for a scope never granted is invalid_scope and uses nothing up", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		tok, _ := rp.exchange(f, rp.signIn(f).Get("code"))
		refresh := func(scope string) (*http.Response, map[string]any) {
			t.Helper()
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {scope}}
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(rp.oauth.ClientID, rp.oauth.ClientSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			return resp, body
		}
		// RFC 6749 §6 and §5.2.
		resp, body := refresh("openid admin")
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_scope" {
			t.Fatalf("widening: %d %v", resp.StatusCode, body)
		}
		// The refresh token was not rotated by the refused request.
		resp, body = refresh("openid")
		if resp.StatusCode != http.StatusOK || body["scope"] == nil {
			t.Fatalf("refresh after the refused one: %d %v", resp.StatusCode, body)
		}
	})

	t.Run("a bad redirect_uri gets an error page, never a redirect", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		rp.oauth.RedirectURL = "https://evil.example/cb"
		page := rp.start(newFlow())
		if page.Status != http.StatusBadRequest || page.Location != "" || !strings.Contains(page.Body, "<html") {
			t.Fatalf("got %d location %q", page.Status, page.Location)
		}
	})

	t.Run("an unknown client gets an error page", func(t *testing.T) {
		b := browser.New(s.URL)
		page, err := b.Get(s.URL + "/oauth2/auth?client_id=nope&response_type=code&scope=openid&redirect_uri=" + url.QueryEscape(rpCallback))
		if err != nil {
			t.Fatal(err)
		}
		if page.Status != http.StatusBadRequest || page.Location != "" {
			t.Fatalf("got %d location %q", page.Status, page.Location)
		}
	})

	t.Run("the request parameter gets request_not_supported", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		cb := rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("request", "eyJhbGciOiJub25lIn0.e30.")))
		if cb.Get("error") != "request_not_supported" {
			t.Fatalf("callback = %v", cb)
		}
		cb = rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("request_uri", "https://rp.example/req")))
		if cb.Get("error") != "request_uri_not_supported" {
			t.Fatalf("callback = %v", cb)
		}
	})

	t.Run("a public client must use PKCE", func(t *testing.T) {
		spec := webClient(true)
		spec.Public = true
		rp := newRelyingParty(t, s, spec)
		page, err := rp.browser.Get(rp.oauth.AuthCodeURL("state-123", gooidc.Nonce("n-1234567")))
		if err != nil {
			t.Fatal(err)
		}
		if got := rp.callback(page).Get("error"); got != "invalid_request" {
			t.Fatalf("error = %q", got)
		}
	})

	t.Run("form_post answers with an auto-submitting form that works without JavaScript", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		page := rp.start(f, oauth2.SetAuthURLParam("response_mode", "form_post"))
		page = rp.login(page, "alice@example.com", alicePassword)
		form, err := page.FormWith("code")
		if err != nil {
			t.Fatal(err)
		}
		if form.Action != rpCallback || form.Fields.Get("state") != f.state || form.Fields.Get("iss") != s.URL {
			t.Fatalf("form = %+v", form)
		}
		if !strings.Contains(page.Body, "<noscript>") || !strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'sha256-") {
			t.Fatal("the form post page lacks its no-script button or its script hash")
		}
	})

	t.Run("the implicit flow returns an ID token with scope claims in the fragment", func(t *testing.T) {
		spec := webClient(true)
		spec.GrantTypes = []string{"implicit"}
		rp := newRelyingParty(t, s, spec)
		f := newFlow()
		page, err := rp.browser.Get(rp.oauth.AuthCodeURL(f.state, gooidc.Nonce(f.nonce), oauth2.SetAuthURLParam("response_type", "id_token")))
		if err != nil {
			t.Fatal(err)
		}
		cb := rp.callback(rp.login(page, "alice@example.com", alicePassword))
		idt, err := rp.verifier.Verify(ctx, cb.Get("id_token"))
		if err != nil {
			t.Fatalf("%v (callback %v)", err, cb)
		}
		var c map[string]any
		_ = idt.Claims(&c)
		if c["email"] != "alice@example.com" || c["nonce"] != f.nonce {
			t.Errorf("claims = %v", c)
		}
	})

	t.Run("a public client signs in with PKCE and no secret", func(t *testing.T) {
		spec := webClient(true)
		spec.Public = true
		rp := newRelyingParty(t, s, spec)
		rp.oauth.ClientSecret = ""
		f := newFlow()
		cb := rp.signIn(f)
		tok, _ := rp.exchange(f, cb.Get("code"))
		if tok.AccessToken == "" {
			t.Fatal("no access token")
		}
		t.Run("a wrong verifier is invalid_grant", func(t *testing.T) {
			f2 := newFlow()
			cb := rp.signIn(f2)
			_, err := rp.oauth.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
			var re *oauth2.RetrieveError
			if !asRetrieveError(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("got %v", err)
			}
		})
	})

	t.Run("the hybrid flow returns a code and an ID token with c_hash", func(t *testing.T) {
		spec := webClient(true)
		spec.GrantTypes = []string{"authorization_code", "implicit", "refresh_token"}
		rp := newRelyingParty(t, s, spec)
		f := newFlow()
		cb := rp.signIn(f, oauth2.SetAuthURLParam("response_type", "code id_token"))
		if cb.Get("code") == "" || cb.Get("id_token") == "" || cb.Get("state") != f.state {
			t.Fatalf("callback = %v", cb)
		}
		idt, err := rp.verifier.Verify(ctx, cb.Get("id_token"))
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		_ = idt.Claims(&c)
		if c["c_hash"] == nil || c["nonce"] != f.nonce {
			t.Errorf("claims = %v", c)
		}
		rp.exchange(f, cb.Get("code"))
	})

	t.Run("id_token token returns both with at_hash, and userinfo honours the claims parameter", func(t *testing.T) {
		spec := webClient(true)
		spec.GrantTypes = []string{"implicit"}
		rp := newRelyingParty(t, s, spec)
		f := newFlow()
		claims := `{"userinfo":{"email":{"essential":true}},"id_token":{"name":null}}`
		page, err := rp.browser.Get(rp.oauth.AuthCodeURL(f.state, gooidc.Nonce(f.nonce),
			oauth2.SetAuthURLParam("response_type", "id_token token"), oauth2.SetAuthURLParam("scope", "openid"),
			oauth2.SetAuthURLParam("claims", claims), oauth2.SetAuthURLParam("display", "touch"), oauth2.SetAuthURLParam("unknown_param", "x")))
		if err != nil {
			t.Fatal(err)
		}
		cb := rp.callback(rp.login(page, "alice@example.com", alicePassword))
		idt, err := rp.verifier.Verify(ctx, cb.Get("id_token"))
		if err != nil {
			t.Fatalf("%v (callback %v)", err, cb)
		}
		if err := idt.VerifyAccessToken(cb.Get("access_token")); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		var c map[string]any
		_ = idt.Claims(&c)
		if c["name"] != "Alice Liddell" {
			t.Errorf("the claims parameter's id_token member was ignored: %v", c)
		}
		// userinfo by POST with the token in the body (RFC 6750 §2.2).
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/userinfo", strings.NewReader(url.Values{"access_token": {cb.Get("access_token")}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var info map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if info["sub"] != aliceID || info["email"] != "alice@example.com" || info["name"] != nil {
			t.Errorf("userinfo = %v (want sub and the requested email only: only openid was granted)", info)
		}
	})

	t.Run("ui_locales picks the page language", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		page := rp.start(newFlow(), oauth2.SetAuthURLParam("ui_locales", "fr-CA fr"))
		if !strings.Contains(page.Body, `<html lang="fr"`) {
			t.Fatalf("not French: %.300s", page.Body)
		}
		rp.browser.Header.Set("Accept-Language", "de-DE,de;q=0.9")
		page = rp.start(newFlow())
		if !strings.Contains(page.Body, `<html lang="de"`) {
			t.Fatalf("Accept-Language ignored: %.300s", page.Body)
		}
	})

	t.Run("a form without its CSRF token is refused", func(t *testing.T) {
		rp := newRelyingParty(t, s, webClient(true))
		page := rp.start(newFlow())
		form, err := page.FormWith("password")
		if err != nil {
			t.Fatal(err)
		}
		next, err := rp.browser.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}, "csrf": {"forged"}}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if next.Status != http.StatusForbidden {
			t.Fatalf("status %d", next.Status)
		}
	})

	t.Run("userinfo refuses a bad token with a Bearer challenge", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer gate_at_bogus.bogus")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})

	t.Run("logout", func(t *testing.T) {
		var mu sync.Mutex
		var logoutTokens []string
		backchannel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			logoutTokens = append(logoutTokens, r.PostForm.Get("logout_token"))
			mu.Unlock()
		}))
		defer backchannel.Close()
		spec := webClient(true)
		spec.BackchannelLogoutURI = backchannel.URL
		rp := newRelyingParty(t, s, spec)
		f := newFlow()
		cb := rp.signIn(f)
		tok, idt := rp.exchange(f, cb.Get("code"))
		rawID, _ := tok.Extra("id_token").(string)

		t.Run("without a hint it asks to confirm and never redirects", func(t *testing.T) {
			page, err := rp.browser.Get(s.URL + "/oauth2/logout?post_logout_redirect_uri=" + url.QueryEscape(rpLoggedOut))
			if err != nil {
				t.Fatal(err)
			}
			if page.Location != "" {
				t.Fatalf("redirected to %s", page.Location)
			}
			if _, err := page.FormWith("confirm"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("with client_id and a registered URI but no hint, the customer confirms, then goes back with state", func(t *testing.T) {
			// RP-Initiated Logout 1.0 §2: client_id names the app when there
			// is no hint; a URI registered for it is a safe destination.
			rp2 := newRelyingParty(t, s, webClient(true))
			f2 := newFlow()
			rp2.exchange(f2, rp2.signIn(f2).Get("code"))
			q := url.Values{"client_id": {rp2.oauth.ClientID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye-456"}}
			page, err := rp2.browser.Get(s.URL + "/oauth2/logout?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if page.Location != "" {
				t.Fatalf("signed out without confirmation: redirected to %s", page.Location)
			}
			form, err := page.FormWith("confirm")
			if err != nil {
				t.Fatal(err)
			}
			// Chrome applies form-action to the redirect that answers the form.
			if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "https://rp.example") {
				t.Errorf("the confirmation page's CSP does not allow the app's origin: %q", csp)
			}
			next, err := rp2.browser.Submit(form, nil, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if next.Location != rpLoggedOut+"?state=bye-456" {
				t.Fatalf("after confirming: %d to %q", next.Status, next.Location)
			}
			if _, err := rp2.start(newFlow()).FormWith("password"); err != nil {
				t.Error("the session survived the confirmed logout")
			}
		})
		t.Run("with the customer's hint and a registered URI it ends the session and redirects with state", func(t *testing.T) {
			q := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye-123"}}
			page, err := rp.browser.Get(s.URL + "/oauth2/logout?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if page.Location != rpLoggedOut+"?state=bye-123" {
				t.Fatalf("location %q (status %d)", page.Location, page.Status)
			}
			if got := rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("prompt", "none"))).Get("error"); got != "login_required" {
				t.Fatalf("the session survived the logout: %q", got)
			}
		})
		t.Run("clients with a back-channel URI get a signed logout token", func(t *testing.T) {
			s.Jobs().RunDue(ctx)
			mu.Lock()
			defer mu.Unlock()
			if len(logoutTokens) != 1 {
				t.Fatalf("%d logout tokens delivered", len(logoutTokens))
			}
			claims := verifyLogoutToken(t, s, logoutTokens[0])
			var sid struct {
				SID string `json:"sid"`
			}
			_ = idt.Claims(&sid)
			if claims["sub"] != aliceID || claims["sid"] != sid.SID || claims["aud"] != rp.reg.Client.ID || claims["iss"] != s.URL {
				t.Errorf("logout token claims = %v", claims)
			}
			if _, ok := claims["nonce"]; ok {
				t.Error("a logout token must not carry a nonce")
			}
			events, _ := claims["events"].(map[string]any)
			if _, ok := events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
				t.Errorf("events = %v", claims["events"])
			}
		})
	})
}

// verifyLogoutToken checks a logout token's signature against the JWKS.
func verifyLogoutToken(t *testing.T, s *testServer, raw string) map[string]any {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		t.Fatal("logout token signed with an unpublished key")
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// active introspects a token as its client.
func active(t *testing.T, s *testServer, rp *relyingParty, token string) bool {
	t.Helper()
	_, body := postForm(t, s.URL+"/oauth2/introspect", rp.reg.Client.ID, rp.reg.Secret, url.Values{"token": {token}})
	return body["active"] == true
}

func asRetrieveError(err error, target **oauth2.RetrieveError) bool {
	re, ok := err.(*oauth2.RetrieveError)
	if ok {
		*target = re
	}
	return ok
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// errorText returns the text of the page's role="alert" element.
func errorText(body string) string {
	i := strings.Index(body, `role="alert"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	start := strings.Index(rest, ">")
	end := strings.Index(rest, "</")
	if start < 0 || end < start {
		return ""
	}
	return strings.TrimSpace(rest[start+1 : end])
}
