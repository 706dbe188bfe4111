package server_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// unavailableMessage is the "try again in a moment" message of a language,
// as the page shows it.
func unavailableMessage(t *testing.T, lang string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "templates", "locales", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]string
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatal(err)
	}
	msg := msgs["error.unavailable"]
	if msg == "" {
		t.Fatalf("%s has no error.unavailable", lang)
	}
	return html.EscapeString(msg)
}

// wantTemporarilyUnavailable fails unless a protocol answer is 503
// temporarily_unavailable with Retry-After.
func wantTemporarilyUnavailable(t *testing.T, what string, resp *http.Response, body map[string]any) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
		t.Errorf("%s: %d %v, want 503 temporarily_unavailable", what, resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After", what)
	}
	if _, ok := body["active"]; ok {
		t.Errorf("%s: answered a verdict on the token: %v", what, body)
	}
}

// wantUnavailablePage fails unless a page is the localized 503 page.
func wantUnavailablePage(t *testing.T, what string, page *browser.Page, lang string) {
	t.Helper()
	if page.Status != http.StatusServiceUnavailable {
		t.Errorf("%s: %d, want 503 (location %q)", what, page.Status, page.Location)
	}
	if page.Header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After", what)
	}
	if msg := unavailableMessage(t, lang); !strings.Contains(page.Body, msg) {
		t.Errorf("%s: the page does not say %q in %s:\n%.800s", what, msg, lang, page.Body)
	}
}

func bearerGet(t *testing.T, u, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestDatabaseOutageIsNoVerdict(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		// Without a client cache every client authentication reads the
		// database (as after the cache's entries expire) and fails there;
		// with a warm one, authentication passes and the reads and writes
		// of codes and tokens fail.
		for _, cache := range []struct {
			name string
			ttl  time.Duration
		}{{"client cache off", 0}, {"client cache warm", 5 * time.Minute}} {
			t.Run(cache.name, func(t *testing.T) { testOutage(t, db.Name, cache.ttl) })
		}
	})
}

func testOutage(t *testing.T, dbName string, cacheTTL time.Duration) {
	{
		databaseURL := gormstoretest.SQLiteURL(t)
		var proxy *gormstoretest.Proxy
		if dbName == "postgres" {
			databaseURL, proxy = gormstoretest.PostgresProxyURL(t)
		}
		s := startServerWith(t, databaseURL, func(c *config.Config) { c.ClientCacheTTL = cacheTTL }, server.WithOutageLogEvery(time.Hour))
		createAlice(t, s)
		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		tok, _ := rp.exchange(f, rp.signIn(f).Get("code"))
		f2 := newFlow()
		code2 := rp.signIn(f2).Get("code")
		machine := s.createClient(t, machineClient())
		sealed := clientToken(t, s, machine) // warms the client cache, if there is one
		// A sign-in waiting on the login page (a new browser), and one
		// waiting on the consent page (the signed-in browser).
		asking := newRelyingParty(t, s, webClient(false))
		loginPage := asking.start(newFlow())
		loginBrowser := asking.browser
		asking.browser = rp.browser
		consentPage := asking.start(newFlow())
		if !strings.Contains(loginPage.URL.Path, "/login") || !strings.Contains(consentPage.URL.Path, "/consent") {
			t.Fatalf("set-up: pages at %s and %s", loginPage.URL, consentPage.URL)
		}

		ops := adminToken(t, s)
		dynamic := webClient(true)
		dynamic.Dynamic = true // it gets a registration access token (RFC 7592)
		registered := s.createClient(t, dynamic)

		if proxy != nil {
			proxy.Down()
		} else {
			_ = s.Store().Close()
		}
		tokenURL := s.URL + "/oauth2/token"

		t.Run("valid client credentials get 503, not invalid_client, unless the client is cached", func(t *testing.T) {
			resp, body := postForm(t, tokenURL, machine.Client.ID, machine.Secret, url.Values{"grant_type": {"client_credentials"}})
			if cacheTTL > 0 {
				// Authenticated from the cache, the grant needs no
				// database: its token is sealed, not stored.
				if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
					t.Errorf("client_credentials with the client cached: %d %v, want its token", resp.StatusCode, body)
				}
				return
			}
			wantTemporarilyUnavailable(t, "client_credentials", resp, body)
		})
		t.Run("a valid code gets 503, not invalid_grant", func(t *testing.T) {
			resp, body := postForm(t, tokenURL, rp.reg.Client.ID, rp.reg.Secret, url.Values{
				"grant_type": {"authorization_code"}, "code": {code2}, "redirect_uri": {rpCallback}, "code_verifier": {f2.verifier},
			})
			wantTemporarilyUnavailable(t, "authorization_code", resp, body)
		})
		t.Run("a valid refresh token gets 503, not invalid_grant", func(t *testing.T) {
			resp, body := postForm(t, tokenURL, rp.reg.Client.ID, rp.reg.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
			wantTemporarilyUnavailable(t, "refresh_token", resp, body)
		})
		t.Run("introspecting a valid token gets 503, not active:false", func(t *testing.T) {
			resp, body := postForm(t, s.URL+"/oauth2/introspect", rp.reg.Client.ID, rp.reg.Secret, url.Values{"token": {tok.AccessToken}})
			wantTemporarilyUnavailable(t, "introspection", resp, body)
			if cacheTTL > 0 {
				// A sealed token needs the database for its revocation
				// check, which its own seal cannot answer.
				resp, body = postForm(t, s.URL+"/oauth2/introspect", rp.reg.Client.ID, rp.reg.Secret, url.Values{"token": {sealed}})
				wantTemporarilyUnavailable(t, "introspection of a sealed token", resp, body)
			}
		})
		t.Run("revoking gets 503", func(t *testing.T) {
			resp, body := postForm(t, s.URL+"/oauth2/revoke", rp.reg.Client.ID, rp.reg.Secret, url.Values{"token": {tok.RefreshToken}})
			wantTemporarilyUnavailable(t, "revocation", resp, body)
		})
		t.Run("userinfo with a valid token gets 503, not invalid_token", func(t *testing.T) {
			resp, body := bearerGet(t, s.URL+"/userinfo", tok.AccessToken)
			wantTemporarilyUnavailable(t, "userinfo", resp, body)
		})
		t.Run("the authorization endpoint shows the localized try-again page", func(t *testing.T) {
			b := browser.New(s.URL)
			b.Header.Set("Accept-Language", "fr")
			page, err := b.Get(rp.oauth.AuthCodeURL("st-outage", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if err != nil {
				t.Fatal(err)
			}
			wantUnavailablePage(t, "authorize", page, "fr")
		})
		t.Run("the sign-in, consent and account pages show the localized try-again page", func(t *testing.T) {
			for _, c := range []struct {
				name, lang, url string
				b               *browser.Browser
			}{
				{"login", "de", loginPage.URL.String(), loginBrowser},
				{"consent", "es", consentPage.URL.String(), rp.browser},
				{"account", "ja", s.URL + "/account", rp.browser},
				{"login (Brazilian Portuguese)", "pt-BR", loginPage.URL.String(), rp.browser},
			} {
				c.b.Header.Set("Accept-Language", c.lang)
				page, err := c.b.Get(c.url)
				c.b.Header.Del("Accept-Language")
				if err != nil {
					t.Fatal(err)
				}
				wantUnavailablePage(t, c.name, page, c.lang)
			}
		})
		t.Run("a right password gets the try-again page, not a refusal or a throttle", func(t *testing.T) {
			// On PostgreSQL the throttling counters are in the database too:
			// their failure must not refuse the sign-in either.
			asking.browser = loginBrowser
			loginBrowser.Header.Set("Accept-Language", "en")
			page := asking.login(loginPage, "alice@example.com", alicePassword)
			wantUnavailablePage(t, "password sign-in", page, "en")
		})
		t.Run("the admin API answers 503 problem details, not 401", func(t *testing.T) {
			r := adminCall(t, s, http.MethodGet, "/admin/v1/customers", ops, nil)
			wantProblem(t, r, http.StatusServiceUnavailable)
			if r.header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		})
		t.Run("client configuration (RFC 7592) gets 503, not invalid_token", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth2/register/"+registered.Client.ID, nil)
			req.Header.Set("Authorization", "Bearer "+registered.RegistrationAccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			wantTemporarilyUnavailable(t, "client configuration", resp, body)
		})
		t.Run("signing out shows the try-again page", func(t *testing.T) {
			page, err := rp.browser.Get(s.URL + "/oauth2/logout")
			if err != nil {
				t.Fatal(err)
			}
			wantUnavailablePage(t, "end session", page, "en")
		})
		t.Run("every such answer is counted by endpoint", func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ManagementHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			tokenOutages, introspectionOutages := 3, 1
			if cacheTTL > 0 {
				// The client-credentials grant was served; a sealed token
				// was introspected too.
				tokenOutages, introspectionOutages = 2, 2
			}
			for endpoint, n := range map[string]int{"token": tokenOutages, "introspection": introspectionOutages, "revocation": 1, "userinfo": 1, "authorize": 1, "login": 3, "consent": 1, "account": 1, "registration": 1, "end_session": 1} {
				line := fmt.Sprintf("gatehouse_storage_unavailable_total{endpoint=%q} %d\n", endpoint, n)
				if !strings.Contains(rec.Body.String(), line) {
					t.Errorf("metrics lack %q", strings.TrimSpace(line))
				}
			}
		})
		t.Run("the outage is logged once, with its count, and no secret", func(t *testing.T) {
			logs := s.logs.String()
			if n := strings.Count(logs, `"msg":"database unavailable`); n != 1 {
				t.Errorf("%d outage warnings, want 1:\n%s", n, logs)
			}
			for _, secret := range []string{tok.AccessToken, tok.RefreshToken, code2, machine.Secret, rp.reg.Secret, alicePassword} {
				if strings.Contains(logs, secret) {
					t.Errorf("the logs carry a secret")
				}
			}
		})
		if proxy == nil {
			return // a closed SQLite store does not come back
		}

		proxy.Up()
		t.Run("once the database is back, the same requests succeed", func(t *testing.T) {
			resp, body := postForm(t, tokenURL, machine.Client.ID, machine.Secret, url.Values{"grant_type": {"client_credentials"}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("client_credentials after recovery: %d %v", resp.StatusCode, body)
			}
			if !active(t, s, rp, tok.AccessToken) {
				t.Error("the access token is not active after recovery")
			}
			resp, body = postForm(t, tokenURL, rp.reg.Client.ID, rp.reg.Secret, url.Values{
				"grant_type": {"authorization_code"}, "code": {code2}, "redirect_uri": {rpCallback}, "code_verifier": {f2.verifier},
			})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("the code after recovery: %d %v", resp.StatusCode, body)
			}
			resp, body = bearerGet(t, s.URL+"/userinfo", tok.AccessToken)
			if resp.StatusCode != http.StatusOK || body["sub"] == nil {
				t.Errorf("userinfo after recovery: %d %v", resp.StatusCode, body)
			}
			page, err := rp.browser.Get(s.URL + "/account")
			if err != nil || page.Status != http.StatusOK {
				t.Errorf("account page after recovery: %v %v", page.Status, err)
			}
		})
	}
}
