package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// requestLogLine returns the fields of the server's log line for the
// request with the given id.
func requestLogLine(t *testing.T, s *testServer, id string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no log line for request %s", id)
	return nil
}

// validDescription reports whether s holds only the characters RFC 6749
// §5.2 allows in error_description.
func validDescription(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)) {
			return false
		}
	}
	return true
}

// TestAuthorizeRefusalsSayWhatIsWrong sends authorization requests whose
// error cannot go back to the app (RFC 6749 §4.1.2.1): the page names the
// problem in the customer's language, shows the redirect URI that was sent
// as text, and never redirects; the request's log line carries the error,
// its description and the client_id. An error that can go back still does.
func TestAuthorizeRefusalsSayWhatIsWrong(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		web := s.createClient(t, webClient(true))
		two := s.createClient(t, clients.Spec{Name: "Two Doors", RedirectURIs: []string{rpCallback, rpCallback + "/2"}})
		base := url.Values{
			"response_type": {"code"}, "client_id": {web.Client.ID}, "redirect_uri": {rpCallback},
			"scope": {"openid"}, "state": {"st-12345678"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		}
		with := func(change func(url.Values)) url.Values {
			q := url.Values{}
			for k, v := range base {
				q[k] = append([]string(nil), v...)
			}
			change(q)
			return q
		}
		for _, tc := range []struct {
			name     string
			query    url.Values
			lang     string
			want     []string // in the page, HTML as served
			clientID string   // in the log line
		}{
			{
				name:  "a missing client_id is named",
				query: with(func(q url.Values) { q.Del("client_id") }),
				want:  []string{"missing the client_id parameter"},
			},
			{
				name:     "an unknown app is named with the client_id sent, escaped",
				query:    with(func(q url.Values) { q.Set("client_id", "<b>nobody</b>") }),
				want:     []string{"an app that isn’t registered here (client_id &lt;b&gt;nobody&lt;/b&gt;)"},
				clientID: "<b>nobody</b>",
			},
			{
				name:     "an unregistered redirect URI is shown as text with the app's name",
				query:    with(func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb?x=<i>") }),
				want:     []string{"Photo Album asked us to send you back to an address that isn’t registered for it", "The redirect URI that was sent:", "<code>https://evil.example/cb?x=&lt;i&gt;</code>"},
				clientID: web.Client.ID,
			},
			{
				name:     "a loopback redirect URI on another port is unregistered for a web app",
				query:    with(func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/cb") }),
				want:     []string{"isn’t registered for it", "<code>http://127.0.0.1:9999/cb</code>"},
				clientID: web.Client.ID,
			},
			{
				name: "a missing redirect_uri is named when the app has two",
				query: with(func(q url.Values) {
					q.Set("client_id", two.Client.ID)
					q.Del("redirect_uri")
					q.Set("scope", "profile")
				}),
				want:     []string{"missing the redirect_uri parameter"},
				clientID: two.Client.ID,
			},
			{
				name:     "a missing redirect_uri is named for OpenID Connect",
				query:    with(func(q url.Values) { q.Del("redirect_uri") }),
				want:     []string{"missing the redirect_uri parameter"},
				clientID: web.Client.ID,
			},
			{
				name:     "an unsupported response_mode is named",
				query:    with(func(q url.Values) { q.Set("response_mode", "carrier_pigeon") }),
				want:     []string{"Photo Album sent a sign-in request with a value of response_mode that we don’t support."},
				clientID: web.Client.ID,
			},
			{
				name:     "the page speaks the customer's language",
				query:    with(func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }),
				lang:     "de",
				want:     []string{"Photo Album möchte Sie an eine Adresse zurückschicken", "Gesendete Weiterleitungs-URI:"},
				clientID: web.Client.ID,
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth2/auth?"+tc.query.Encode(), nil)
				if tc.lang != "" {
					req.Header.Set("Accept-Language", tc.lang)
				}
				resp, err := noRedirects().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q; want a 400 page", resp.StatusCode, resp.Header.Get("Location"))
				}
				page := string(body)
				for _, w := range tc.want {
					if !strings.Contains(page, w) {
						t.Errorf("the page lacks %q:\n%s", w, page)
					}
				}
				if strings.Contains(page, `href="https://evil`) || strings.Contains(page, `href="http://127.0.0.1:9999`) {
					t.Errorf("the page links the unregistered URI:\n%s", page)
				}
				line := requestLogLine(t, s, resp.Header.Get("X-Request-Id"))
				if line["status"] != float64(400) || line["error"] == nil || line["error_description"] == "" || line["error_description"] == nil {
					t.Errorf("the log line lacks the error: %v", line)
				}
				if got, _ := line["client_id"].(string); got != tc.clientID {
					t.Errorf("log client_id %q, want %q", got, tc.clientID)
				}
			})
		}

		t.Run("an error the app can be told goes back to it", func(t *testing.T) {
			q := with(func(q url.Values) { q.Del("response_type") })
			resp, err := noRedirects().Get(s.URL + "/oauth2/auth?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), rpCallback+"?") {
				t.Fatalf("status %d, Location %q; want a redirect to the app", resp.StatusCode, loc)
			}
			got := loc.Query()
			if got.Get("error") != "unsupported_response_type" || got.Get("state") != "st-12345678" || !validDescription(got.Get("error_description")) {
				t.Errorf("callback = %v", got)
			}
			line := requestLogLine(t, s, resp.Header.Get("X-Request-Id"))
			if line["error"] != "unsupported_response_type" || line["client_id"] != web.Client.ID {
				t.Errorf("log line = %v", line)
			}
		})
		t.Run("a description with quotes reaches the app without them", func(t *testing.T) {
			q := with(func(q url.Values) { q.Set("prompt", `say "hi"`) })
			resp, err := noRedirects().Get(s.URL + "/oauth2/auth?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			d := loc.Query().Get("error_description")
			if loc.Query().Get("error") != "invalid_request" || !validDescription(d) || !strings.Contains(d, "'say'") {
				t.Errorf("error_description %q", d)
			}
		})
	})
}

// TestTokenEndpointSaysWhyACodeIsRefused exchanges codes that must be
// refused with invalid_grant (RFC 6749 §5.2) and checks that the
// description names the reason, within the characters RFC 6749 allows, and
// that the log line carries it with the client_id but never the code.
func TestTokenEndpointSaysWhyACodeIsRefused(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		const lifetime = 10 * time.Second
		s := startServerWith(t, db.URL, func(c *config.Config) { c.AuthorizationCodeLifetime = lifetime })
		createAlice(t, s)
		rp := newRelyingParty(t, s, webClient(true))
		other := s.createClient(t, clients.Spec{Name: "Other", RedirectURIs: []string{rpCallback}})

		// The code that expires is taken first; the other cases run while
		// it waits.
		expiring := newFlow()
		expiringCode := rp.signIn(expiring).Get("code")
		issued := time.Now()

		exchange := func(t *testing.T, id, secret string, form url.Values, wantDescription string) {
			t.Helper()
			form.Set("grant_type", "authorization_code")
			resp, body := postForm(t, s.URL+"/oauth2/token", id, secret, form)
			d, _ := body["error_description"].(string)
			if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" || !strings.Contains(d, wantDescription) {
				t.Fatalf("got %d %v, want invalid_grant saying %q", resp.StatusCode, body, wantDescription)
			}
			if !validDescription(d) {
				t.Errorf("error_description %q holds characters RFC 6749 does not allow", d)
			}
			line := requestLogLine(t, s, resp.Header.Get("X-Request-Id"))
			if line["error"] != "invalid_grant" || line["error_description"] != d || line["client_id"] != id {
				t.Errorf("log line = %v", line)
			}
			if code := form.Get("code"); strings.Contains(s.logs.String(), code) {
				t.Error("the code reached the logs")
			}
		}
		codeForm := func(f flow, code string) url.Values {
			return url.Values{"code": {code}, "redirect_uri": {rpCallback}, "code_verifier": {f.verifier}}
		}
		id, secret := rp.reg.Client.ID, rp.reg.Secret

		t.Run("an unknown code", func(t *testing.T) {
			exchange(t, id, secret, codeForm(newFlow(), "gate_ac_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"), "The authorization code is unknown")
		})
		t.Run("a code used twice", func(t *testing.T) {
			f := newFlow()
			code := rp.signIn(f).Get("code")
			rp.exchange(f, code)
			exchange(t, id, secret, codeForm(f, code), "The authorization code has already been used")
		})
		t.Run("a code issued to another client", func(t *testing.T) {
			f := newFlow()
			exchange(t, other.Client.ID, other.Secret, codeForm(f, rp.signIn(f).Get("code")), "The authorization code was issued to another client.")
		})
		t.Run("another redirect_uri", func(t *testing.T) {
			f := newFlow()
			form := codeForm(f, rp.signIn(f).Get("code"))
			form.Set("redirect_uri", rpCallback+"/elsewhere")
			exchange(t, id, secret, form, "The redirect_uri differs from the one of the authorization request")
		})
		t.Run("a PKCE verifier that does not match", func(t *testing.T) {
			f := newFlow()
			form := codeForm(f, rp.signIn(f).Get("code"))
			form.Set("code_verifier", oauth2.GenerateVerifier())
			exchange(t, id, secret, form, "The code_verifier does not match the code_challenge of the authorization request (RFC 7636 section 4.6).")
		})
		t.Run("an expired code", func(t *testing.T) {
			time.Sleep(time.Until(issued.Add(lifetime + 1500*time.Millisecond)))
			exchange(t, id, secret, codeForm(expiring, expiringCode), "The authorization code has expired: a code must be exchanged within 10 seconds of its issue.")
		})
	})
}
