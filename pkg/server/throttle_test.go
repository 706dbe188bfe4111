package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// slowBackoff makes every wait an hour, so that no test depends on how
// fast it runs: once throttled, a test stays throttled.
func slowBackoff(c *config.Config) {
	c.ThrottleBackoffBase = time.Hour
	c.ThrottleBackoffMax = 2 * time.Hour
}

// guesser is a browser that fills in the sign-in form of its own pending
// request again and again.
type guesser struct {
	t    *testing.T
	b    *browser.Browser
	form browser.Form
}

func newGuesser(t *testing.T, rp *relyingParty, lang string) *guesser {
	t.Helper()
	b := browser.New(rp.s.URL)
	if lang != "" {
		b.Header.Set("Accept-Language", lang)
	}
	f := newFlow()
	page, err := b.Get(rp.oauth.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier)))
	if err != nil {
		t.Fatal(err)
	}
	form, err := page.FormWith("password")
	if err != nil {
		t.Fatalf("no sign-in form: %v\n%s", err, page.Body)
	}
	return &guesser{t: t, b: b, form: form}
}

func (g *guesser) try(email, password string) *browser.Page {
	g.t.Helper()
	page, err := g.b.Submit(g.form, url.Values{"email": {email}, "password": {password}}, "", "")
	if err != nil {
		g.t.Fatal(err)
	}
	return page
}

func TestSignInThrottling(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, slowBackoff)
		createAlice(t, s)
		rp := newRelyingParty(t, s, webClient(true))
		// Alice signs in on her laptop: it becomes a known device.
		if cb := rp.signIn(newFlow()); cb.Get("code") == "" {
			t.Fatalf("first sign-in: %v", cb)
		}

		attacker := newGuesser(t, rp, "fr")
		for i := range 5 { // throttle_account_ip_failures
			if p := attacker.try("alice@example.com", "guess-"+strconv.Itoa(i)); p.Status != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d, want 401", i+1, p.Status)
			}
		}
		p := attacker.try("alice@example.com", "guess-6")
		if p.Status != http.StatusTooManyRequests {
			t.Fatalf("guess 6: %d, want 429", p.Status)
		}
		if ra, _ := strconv.Atoi(p.Header.Get("Retry-After")); ra < 3500 || ra > 3600 {
			t.Errorf("Retry-After %q, want about an hour", p.Header.Get("Retry-After"))
		}
		if got := alertText(p.Body); !strings.Contains(got, "Trop de tentatives de connexion. Veuillez patienter 60 min") {
			t.Errorf("the page says %q, want the wait in French", got)
		}
		// Even the right password is refused now: no hash is computed.
		if p := attacker.try("alice@example.com", alicePassword); p.Status != http.StatusTooManyRequests {
			t.Errorf("the right password from the throttled browser: %d, want 429", p.Status)
		}

		t.Run("the known device still signs in", func(t *testing.T) {
			if cb := rp.signIn(newFlow(), oauth2.SetAuthURLParam("prompt", "login")); cb.Get("code") == "" {
				t.Fatalf("alice's laptop during the attack: %v", cb)
			}
		})
		t.Run("a new browser on the attacker's address is throttled too", func(t *testing.T) {
			if p := newGuesser(t, rp, "ja").try("alice@example.com", alicePassword); p.Status != http.StatusTooManyRequests ||
				!strings.Contains(alertText(p.Body), "60 分待って") {
				t.Errorf("%d %q, want 429 in Japanese", p.Status, alertText(p.Body))
			}
		})
		t.Run("the account page's sign-in shares the counters", func(t *testing.T) {
			b := browser.New(s.URL)
			page, err := b.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form, err := page.FormWith("password")
			if err != nil {
				t.Fatal(err)
			}
			p, err := b.Submit(form, url.Values{"email": {"Alice@Example.com"}, "password": {"x-guess"}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != http.StatusTooManyRequests || !strings.Contains(alertText(p.Body), "Please wait 60 min") {
				t.Errorf("%d %q, want 429 in English", p.Status, alertText(p.Body))
			}
		})
		t.Run("an unknown email is throttled exactly like a known one", func(t *testing.T) {
			g := newGuesser(t, rp, "")
			for i := range 5 {
				if p := g.try("nobody@example.com", "guess"); p.Status != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d, want 401", i+1, p.Status)
				}
			}
			if p := g.try("nobody@example.com", "guess"); p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
				t.Fatalf("guess 6: %d, want 429 with Retry-After", p.Status)
			}
		})
		t.Run("failures are logged masked and refusals counted", func(t *testing.T) {
			logs := s.logs.String()
			if !strings.Contains(logs, `"msg":"sign-in failed"`) || !strings.Contains(logs, `"account":"a***@example.com"`) ||
				!strings.Contains(logs, `"ip":"127.0.0.1"`) || !strings.Contains(logs, `"client_id":"`+rp.reg.Client.ID+`"`) {
				t.Error("no warning with the masked account, the address and the client")
			}
			if strings.Contains(logs, "guess-1") || strings.Contains(logs, alicePassword) || strings.Contains(logs, "alice@example.com") {
				t.Error("a password or the whole email is in the log")
			}
			management := httptest.NewServer(s.ManagementHandler())
			defer management.Close()
			_, metrics := get(t, management.URL+"/metrics")
			if !strings.Contains(metrics, `gatehouse_throttled_total{kind="signin_account_ip"}`) {
				t.Error("the metric does not count the refusals")
			}
		})
	})
}

func TestThrottlingCanBeSwitchedOff(t *testing.T) {
	s := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.ThrottleEnabled = false })
	createAlice(t, s)
	rp := newRelyingParty(t, s, webClient(true))
	g := newGuesser(t, rp, "")
	for i := range 8 {
		if p := g.try("alice@example.com", "guess"); p.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, p.Status)
		}
	}
}

func TestClientAuthenticationThrottling(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServerWith(t, db.URL, func(c *config.Config) {
			slowBackoff(c)
			c.ThrottleClientFailures = 3
		})
		reg := s.createClient(t, machineClient("api"))
		other := s.createClient(t, machineClient("api"))
		tokenURL := s.URL + "/oauth2/token"
		grant := url.Values{"grant_type": {"client_credentials"}}
		for i := range 3 {
			resp, body := postForm(t, tokenURL, reg.Client.ID, "wrong-"+strconv.Itoa(i), grant)
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Fatalf("wrong secret %d: %d %v", i+1, resp.StatusCode, body)
			}
		}
		resp, body := postForm(t, tokenURL, reg.Client.ID, "wrong", grant)
		if resp.StatusCode != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" {
			t.Fatalf("over the budget: %d %v, want 429 temporarily_unavailable", resp.StatusCode, body)
		}
		if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 3500 {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		// The right secret always gets its token.
		resp, body = postForm(t, tokenURL, reg.Client.ID, reg.Secret, grant)
		if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
			t.Fatalf("the right secret while throttled: %d %v", resp.StatusCode, body)
		}
		token, _ := body["access_token"].(string)
		// The same counter at introspection and revocation; right
		// credentials still work there.
		form := url.Values{"token": {token}}
		for _, path := range []string{"/oauth2/introspect", "/oauth2/revoke"} {
			resp, body := postForm(t, s.URL+path, reg.Client.ID, "wrong", form)
			if resp.StatusCode != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s with a wrong secret: %d %v", path, resp.StatusCode, body)
			}
		}
		if resp, body := postForm(t, s.URL+"/oauth2/introspect", reg.Client.ID, reg.Secret, form); resp.StatusCode != http.StatusOK || body["active"] != true {
			t.Errorf("introspection with the right secret: %d %v", resp.StatusCode, body)
		}
		// Another client is not affected.
		if resp, body := postForm(t, tokenURL, other.Client.ID, "wrong", grant); resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("another client's wrong secret: %d %v", resp.StatusCode, body)
		}
		logs := s.logs.String()
		if !strings.Contains(logs, `"msg":"client authentication failed"`) || !strings.Contains(logs, `"client_id":"`+reg.Client.ID+`"`) {
			t.Error("failed client authentications are not logged with the client_id")
		}
	})
}

// registerFrom registers a client with X-Forwarded-For set to xff.
func registerFrom(t *testing.T, s *testServer, xff string) int {
	t.Helper()
	body := []byte(`{"redirect_uris":["https://app.example/cb"],"client_name":"App"}`)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/register", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusTooManyRequests && (resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), `"temporarily_unavailable"`)) {
		t.Errorf("a 429 without Retry-After or the error code: %s", raw)
	}
	return resp.StatusCode
}

func TestClientAddressAndRegistrationThrottling(t *testing.T) {
	configure := func(trusted string) func(*config.Config) {
		return func(c *config.Config) {
			slowBackoff(c)
			c.RegistrationPolicy = "open"
			c.ThrottleRegistrationsPerIP = 1
			c.TrustedProxies = trusted
		}
	}
	t.Run("X-Forwarded-For from a trusted proxy names the client", func(t *testing.T) {
		s := startServerWith(t, gormstoretest.SQLiteURL(t), configure("127.0.0.1"))
		if got := registerFrom(t, s, "198.51.100.1"); got != http.StatusCreated {
			t.Fatalf("first registration: %d", got)
		}
		if got := registerFrom(t, s, "203.0.113.5, 198.51.100.1"); got != http.StatusTooManyRequests {
			t.Fatalf("second from the same client: %d, want 429", got)
		}
		if got := registerFrom(t, s, "198.51.100.2"); got != http.StatusCreated {
			t.Fatalf("another client behind the proxy: %d, want 201", got)
		}
		if !strings.Contains(s.logs.String(), `"ip":"198.51.100.2"`) {
			t.Error("the request log does not carry the forwarded address")
		}
	})
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		s := startServerWith(t, gormstoretest.SQLiteURL(t), configure("10.0.0.0/8"))
		if got := registerFrom(t, s, "198.51.100.1"); got != http.StatusCreated {
			t.Fatalf("first registration: %d", got)
		}
		if got := registerFrom(t, s, "198.51.100.2"); got != http.StatusTooManyRequests {
			t.Fatalf("a forged address: %d, want 429", got)
		}
		logs := s.logs.String()
		if strings.Contains(logs, "198.51.100") || !strings.Contains(logs, `"ip":"127.0.0.1"`) {
			t.Error("the log believes the untrusted header")
		}
	})
}
