package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// Messages the tests look for, as the English pages show them.
const (
	msgCancelled = "Signing in was cancelled. You can try again, or choose another way to sign in."
	msgFailed    = "We couldn’t sign you in with that account. Please try again, or choose another way to sign in."
	msgState     = "We couldn’t finish signing you in. Go back to the app and try again."
)

// startSocialServer starts a Gatehouse whose calls to identity providers
// reach the fakes. Its issuer is on localhost, not 127.0.0.1, so that the
// cookies of an upstream Gatehouse on 127.0.0.1 (browsers scope cookies by
// host, not port) stay apart. configure sees the issuer already set.
func startSocialServer(t *testing.T, databaseURL string, configure func(c *config.Config), fakes ...*federationtest.Fake) *testServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	_, port, err := net.SplitHostPort(ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Issuer = "http://localhost:" + port
	cfg.DatabaseURL = databaseURL
	cfg.Secret = "test-secret-test-secret-test-secret-0123"
	configure(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(context.Background(), cfg, log, server.WithUpstreamTransport(federationtest.Transport(nil, fakes...)))
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return &testServer{Server: srv, URL: cfg.Issuer, logs: logs}
}

func withGoogle(c *config.Config) {
	c.GoogleEnabled, c.GoogleClientID, c.GoogleClientSecret = true, "google-client", "google-secret"
}

func withFacebook(c *config.Config) {
	c.FacebookEnabled, c.FacebookClientID, c.FacebookClientSecret = true, "fb-app", "fb-secret"
}

// socialRP is a relying party whose customer's browser also reaches the
// fake providers.
func socialRP(t *testing.T, s *testServer, fakes ...*federationtest.Fake) *relyingParty {
	t.Helper()
	rp := newRelyingParty(t, s, webClient(true))
	rp.browser.Client.Transport = federationtest.Transport(nil, fakes...)
	return rp
}

// follow follows the redirects the browser stopped at because they leave
// the site (to a provider, or to another Gatehouse), until a page, or the
// redirect to the relying party.
func follow(t *testing.T, b *browser.Browser, page *browser.Page) *browser.Page {
	t.Helper()
	for range 20 {
		if page.Location == "" || strings.HasPrefix(page.Location, rpCallback) {
			return page
		}
		next, err := page.URL.Parse(page.Location)
		if err != nil {
			t.Fatal(err)
		}
		if page, err = b.Get(next.String()); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("too many redirects")
	return nil
}

// continueWith clicks "Continue with ..." on a sign-in page and follows
// the browser through the provider and back.
func continueWith(t *testing.T, b *browser.Browser, page *browser.Page, provider string) *browser.Page {
	t.Helper()
	form, err := page.FormWith("provider")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(form.Submit["provider"], provider) {
		t.Fatalf("no %s button; buttons %v", provider, form.Submit["provider"])
	}
	next, err := b.Submit(form, nil, "provider", provider)
	if err != nil {
		t.Fatal(err)
	}
	return follow(t, b, next)
}

// signInWith runs a whole sign-in at the relying party through a provider
// and returns the verified ID token's claims and the tokens.
func signInWith(t *testing.T, rp *relyingParty, provider string) (map[string]any, *oauth2.Token) {
	t.Helper()
	f := newFlow()
	page := rp.start(f)
	if _, err := page.FormWith("password"); err == nil {
		page = continueWith(t, rp.browser, page, provider)
	}
	tok, idt := rp.exchange(f, rp.callback(page).Get("code"))
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims, tok
}

// checkFederated checks an ID token says a provider signed the customer in.
func checkFederated(t *testing.T, claims map[string]any, provider string) {
	t.Helper()
	amr, _ := claims["amr"].([]any)
	if !slices.Contains(amr, any("fed")) || claims["idp"] != provider {
		t.Errorf("amr %v idp %v; want amr with fed and idp %s", claims["amr"], claims["idp"], provider)
	}
}

// alertText returns the text of the page's role="alert" element, or "".
func alertText(body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return ""
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || !slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "role" && a.Val == "alert" }) {
			continue
		}
		var b strings.Builder
		for c := range n.Descendants() {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return strings.TrimSpace(b.String())
	}
	return ""
}

func userinfo(t *testing.T, rp *relyingParty, tok *oauth2.Token) map[string]any {
	t.Helper()
	ui, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := ui.Claims(&info); err != nil {
		t.Fatal(err)
	}
	return info
}

func TestSocialLoginWithGoogle(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		testSocialLoginWithGoogle(t, db.URL)
	})
}

func testSocialLoginWithGoogle(t *testing.T, databaseURL string) {
	ctx := context.Background()
	google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
	s := startSocialServer(t, databaseURL, withGoogle, google)
	aliceID := createAlice(t, s)

	t.Run("a new customer is created from the Google profile; the app sees amr fed and idp google", func(t *testing.T) {
		google.SetAccount(federationtest.Account{
			ID: "g-grace", Email: "Grace@Example.com", EmailVerified: true, Name: "Grace Hopper",
			GivenName: "Grace", FamilyName: "Hopper", Picture: "https://pictures.example/grace.png", Locale: "en-US",
		})
		rp := socialRP(t, s, google)
		f := newFlow()
		page := rp.start(f)
		if !strings.Contains(page.Body, "Continue with Google") {
			t.Fatalf("no Google button on the sign-in page: %.600s", page.Body)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "https://accounts.google.com") {
			t.Errorf("the sign-in page's form-action does not allow Google: %s", csp)
		}
		page = continueWith(t, rp.browser, page, "google")
		tok, idt := rp.exchange(f, rp.callback(page).Get("code"))
		var claims map[string]any
		_ = idt.Claims(&claims)
		checkFederated(t, claims, "google")
		if idt.Subject == aliceID || idt.Subject == "g-grace" {
			t.Errorf("sub %q: want a new Gatehouse subject", idt.Subject)
		}
		if q := google.LastAuthorization(); q.Get("redirect_uri") != s.URL+"/login/google/callback" || q.Get("scope") != "openid email profile" {
			t.Errorf("authorization request %v", q)
		}
		info := userinfo(t, rp, tok)
		if info["email"] != "grace@example.com" || info["email_verified"] != true || info["name"] != "Grace Hopper" ||
			info["picture"] != "https://pictures.example/grace.png" || info["locale"] != "en-US" {
			t.Errorf("userinfo = %v", info)
		}
		link, err := s.Store().GetIdentity(ctx, "google", "g-grace")
		if err != nil || link.UserID != idt.Subject {
			t.Fatalf("link %+v, %v", link, err)
		}
		u, err := s.Store().GetUser(ctx, idt.Subject)
		if err != nil || u.PasswordHash != "" {
			t.Errorf("customer %+v, %v: want one without a password", u, err)
		}

		t.Run("a returning customer signs in to the same account", func(t *testing.T) {
			again, _ := signInWith(t, socialRP(t, s, google), "google")
			if again["sub"] != idt.Subject {
				t.Errorf("sub %v, want %s", again["sub"], idt.Subject)
			}
			checkFederated(t, again, "google")
		})
		t.Run("single sign-on keeps the provider in later ID tokens", func(t *testing.T) {
			f2 := newFlow()
			cb := rp.callback(rp.start(f2))
			_, idt2 := rp.exchange(f2, cb.Get("code"))
			var c2 map[string]any
			_ = idt2.Claims(&c2)
			checkFederated(t, c2, "google")
		})
	})

	t.Run("an existing customer's email is linked only after they sign in with their password", func(t *testing.T) {
		google.SetAccount(federationtest.Account{ID: "g-alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice"})
		rp := socialRP(t, s, google)
		f := newFlow()
		page := continueWith(t, rp.browser, rp.start(f), "google")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "You already have an account with alice@example.com") {
			t.Fatalf("expected the link confirmation, got %d: %.800s", page.Status, page.Body)
		}
		if _, err := s.Store().GetIdentity(ctx, "google", "g-alice"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("linked before the customer confirmed: %v", err)
		}
		form, err := page.FormWith("password")
		if err != nil {
			t.Fatal(err)
		}
		if form.Fields.Get("email") != "alice@example.com" || form.Fields.Get("link") == "" {
			t.Errorf("confirmation form %v", form.Fields)
		}
		_, idt := rp.exchange(f, rp.callback(rp.login(page, "alice@example.com", alicePassword)).Get("code"))
		var claims map[string]any
		_ = idt.Claims(&claims)
		checkFederated(t, claims, "google")
		if amr, _ := claims["amr"].([]any); idt.Subject != aliceID || !slices.Contains(amr, any("pwd")) {
			t.Errorf("sub %s amr %v; want Alice, with pwd", idt.Subject, claims["amr"])
		}
		if link, err := s.Store().GetIdentity(ctx, "google", "g-alice"); err != nil || link.UserID != aliceID {
			t.Fatalf("link %+v, %v", link, err)
		}

		t.Run("then Google alone signs Alice in", func(t *testing.T) {
			again, _ := signInWith(t, socialRP(t, s, google), "google")
			if again["sub"] != aliceID {
				t.Errorf("sub %v, want Alice", again["sub"])
			}
			checkFederated(t, again, "google")
		})
	})

	t.Run("a cancel at Google returns to the sign-in page with a message", func(t *testing.T) {
		google.Deny(true)
		defer google.Deny(false)
		rp := socialRP(t, s, google)
		page := continueWith(t, rp.browser, rp.start(newFlow()), "google")
		if page.Status != http.StatusOK || alertText(page.Body) != msgCancelled {
			t.Fatalf("got %d with %q: %.600s", page.Status, alertText(page.Body), page.Body)
		}
		if _, err := page.FormWith("password"); err != nil {
			t.Fatal("the sign-in page is not shown again")
		}
		if got := rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("prompt", "none"))).Get("error"); got != "login_required" {
			t.Fatalf("a cancelled sign-in left a session: %q", got)
		}
	})

	t.Run("a state that matches no sign-in of this browser gets an error page, never a session", func(t *testing.T) {
		rp := socialRP(t, s, google)
		form, err := rp.start(newFlow()).FormWith("provider")
		if err != nil {
			t.Fatal(err)
		}
		toGoogle, err := rp.browser.Submit(form, nil, "provider", "google")
		if err != nil {
			t.Fatal(err)
		}
		back := google.Consent(t, toGoogle.Location)
		callback := func(b *browser.Browser, state string) *browser.Page {
			t.Helper()
			page, err := b.Get(s.URL + "/login/google/callback?" + url.Values{"code": {back.Get("code")}, "state": {state}}.Encode())
			if err != nil {
				t.Fatal(err)
			}
			return page
		}
		for name, page := range map[string]*browser.Page{
			"a forged state":        callback(rp.browser, "forged-state-0123456789"),
			"another browser":       callback(browser.New(s.URL), back.Get("state")),
			"the state, used again": callback(rp.browser, back.Get("state")),
		} {
			if page.Status != http.StatusBadRequest || page.Location != "" || !strings.Contains(page.Body, msgState) {
				t.Errorf("%s: got %d location %q: %.300s", name, page.Status, page.Location, page.Body)
			}
		}
		if got := rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("prompt", "none"))).Get("error"); got != "login_required" {
			t.Fatalf("a refused callback left a session: %q", got)
		}
	})

	for _, tc := range []struct {
		name string
		e    federationtest.Endpoint
		how  federationtest.Failure
	}{
		{"a 500 from Google's userinfo", federationtest.Profile, federationtest.Status500},
		{"a 500 from Google's token endpoint", federationtest.Token, federationtest.Status500},
		{"a malformed token answer", federationtest.Token, federationtest.Malformed},
		{"a malformed userinfo answer", federationtest.Profile, federationtest.Malformed},
	} {
		t.Run(tc.name+" returns to the sign-in page with a message", func(t *testing.T) {
			google.Fail(tc.e, tc.how)
			defer google.Fail(tc.e, "")
			rp := socialRP(t, s, google)
			page := continueWith(t, rp.browser, rp.start(newFlow()), "google")
			if page.Status != http.StatusOK || alertText(page.Body) != msgFailed {
				t.Fatalf("got %d with %q: %.600s", page.Status, alertText(page.Body), page.Body)
			}
		})
	}

	t.Run("logs carry no code, token or state", func(t *testing.T) {
		logs := s.logs.String()
		for _, secret := range google.Issued() {
			if strings.Contains(logs, secret) {
				t.Fatal("a code or token from Google leaked into the logs")
			}
		}
		if strings.Contains(logs, "google-secret") {
			t.Fatal("the client secret leaked into the logs")
		}
		if !strings.Contains(logs, "finishing a federated sign-in failed") {
			t.Errorf("the upstream failures were not logged")
		}
	})
}

func TestSocialLoginWithFacebook(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
		s := startSocialServer(t, db.URL, withFacebook, facebook)
		aliceID := createAlice(t, s)

		t.Run("a new customer's Facebook email is kept but not marked verified", func(t *testing.T) {
			facebook.SetAccount(federationtest.Account{ID: "fb-1", Email: "kim@example.com", Name: "Kim Lee", GivenName: "Kim", FamilyName: "Lee"})
			rp := socialRP(t, s, facebook)
			claims, tok := signInWith(t, rp, "facebook")
			checkFederated(t, claims, "facebook")
			info := userinfo(t, rp, tok)
			if info["email"] != "kim@example.com" || info["email_verified"] != false || info["name"] != "Kim Lee" {
				t.Errorf("userinfo = %v", info)
			}
			again, _ := signInWith(t, socialRP(t, s, facebook), "facebook")
			if again["sub"] != claims["sub"] {
				t.Errorf("returning customer: sub %v, want %v", again["sub"], claims["sub"])
			}
		})
		t.Run("an existing customer confirms with the password before the link", func(t *testing.T) {
			facebook.SetAccount(federationtest.Account{ID: "fb-alice", Email: "alice@example.com", Name: "Alice"})
			rp := socialRP(t, s, facebook)
			f := newFlow()
			page := continueWith(t, rp.browser, rp.start(f), "facebook")
			if !strings.Contains(page.Body, "To link your Facebook account to it") {
				t.Fatalf("no link confirmation: %.600s", page.Body)
			}
			_, idt := rp.exchange(f, rp.callback(rp.login(page, "alice@example.com", alicePassword)).Get("code"))
			var claims map[string]any
			_ = idt.Claims(&claims)
			checkFederated(t, claims, "facebook")
			if link, err := s.Store().GetIdentity(ctx, "facebook", "fb-alice"); err != nil || link.UserID != aliceID || idt.Subject != aliceID {
				t.Fatalf("link %+v, %v; sub %s", link, err, idt.Subject)
			}
		})
		t.Run("an app's prompt=login asks Facebook to re-authenticate", func(t *testing.T) {
			facebook.SetAccount(federationtest.Account{ID: "fb-1", Email: "kim@example.com", Name: "Kim Lee"})
			rp := socialRP(t, s, facebook)
			f := newFlow()
			page := continueWith(t, rp.browser, rp.start(f, oauth2.SetAuthURLParam("prompt", "login")), "facebook")
			if got := facebook.LastAuthorization().Get("auth_type"); got != "reauthenticate" {
				t.Fatalf("auth_type at Facebook = %q, want reauthenticate", got)
			}
			_, idt := rp.exchange(f, rp.callback(page).Get("code"))
			var claims struct {
				AuthTime int64 `json:"auth_time"`
			}
			if err := idt.Claims(&claims); err != nil || time.Since(time.Unix(claims.AuthTime, 0)) > time.Minute {
				t.Errorf("auth_time %d (%v), want this sign-in's", claims.AuthTime, err)
			}
			rp = socialRP(t, s, facebook)
			continueWith(t, rp.browser, rp.start(newFlow()), "facebook")
			if got := facebook.LastAuthorization().Get("auth_type"); got != "" {
				t.Errorf("auth_type %q without prompt=login", got)
			}
		})
		t.Run("a cancel at Facebook returns to the sign-in page with a message", func(t *testing.T) {
			facebook.Deny(true)
			defer facebook.Deny(false)
			rp := socialRP(t, s, facebook)
			page := continueWith(t, rp.browser, rp.start(newFlow()), "facebook")
			if page.Status != http.StatusOK || alertText(page.Body) != msgCancelled {
				t.Fatalf("got %d with %q", page.Status, alertText(page.Body))
			}
		})
		t.Run("a 500 from the Graph API returns to the sign-in page with a message", func(t *testing.T) {
			facebook.Fail(federationtest.Profile, federationtest.Status500)
			defer facebook.Fail(federationtest.Profile, "")
			rp := socialRP(t, s, facebook)
			page := continueWith(t, rp.browser, rp.start(newFlow()), "facebook")
			if page.Status != http.StatusOK || alertText(page.Body) != msgFailed {
				t.Fatalf("got %d with %q", page.Status, alertText(page.Body))
			}
		})
	})
}

func TestAutoLinkVerifiedEmail(t *testing.T) {
	google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
	facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
	s := startSocialServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) {
		withGoogle(c)
		withFacebook(c)
		c.AutoLinkVerifiedEmail = true
	}, google, facebook)
	aliceID := createAlice(t, s)

	t.Run("an email Facebook reports still needs the customer's confirmation", func(t *testing.T) {
		facebook.SetAccount(federationtest.Account{ID: "fb-alice", Email: "alice@example.com"})
		rp := socialRP(t, s, google, facebook)
		page := continueWith(t, rp.browser, rp.start(newFlow()), "facebook")
		if _, err := page.FormWith("link"); err != nil {
			t.Fatalf("Facebook's email was trusted: %.400s", page.Body)
		}
	})
	t.Run("an email Google verified links at once", func(t *testing.T) {
		google.SetAccount(federationtest.Account{ID: "g-alice", Email: "alice@example.com", EmailVerified: true})
		claims, _ := signInWith(t, socialRP(t, s, google, facebook), "google")
		if claims["sub"] != aliceID {
			t.Fatalf("sub %v, want Alice", claims["sub"])
		}
		checkFederated(t, claims, "google")
	})
}

func TestEveryProviderKindSignsIn(t *testing.T) {
	google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
	facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
	github := federationtest.New(t, federationtest.GitHub, "gh-client", "gh-secret")
	apple := federationtest.New(t, federationtest.Apple, "com.example.signin", "")
	idp := federationtest.New(t, federationtest.OIDC, "rp-at-idp", "idp-secret")
	keyFile := filepath.Join(t.TempDir(), "AuthKey.p8")
	if err := os.WriteFile(keyFile, []byte(apple.ApplePrivateKeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	fakes := []*federationtest.Fake{google, facebook, github, apple, idp}
	s := startSocialServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) {
		withGoogle(c)
		withFacebook(c)
		c.GitHubEnabled, c.GitHubClientID, c.GitHubClientSecret = true, "gh-client", "gh-secret"
		c.AppleEnabled, c.AppleClientID, c.AppleTeamID, c.AppleKeyID, c.ApplePrivateKeyFile = true, "com.example.signin", apple.AppleTeamID, apple.AppleKeyID, keyFile
		c.OIDCEnabled, c.OIDCName, c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = true, "Example ID", idp.Issuer(), "rp-at-idp", "idp-secret"
	}, fakes...)

	for i, fake := range fakes {
		provider := string(fake.Kind)
		t.Run(provider, func(t *testing.T) {
			fake.SetAccount(federationtest.Account{ID: "4200" + string(rune('0'+i)), Email: provider + "@example.com", EmailVerified: true, Name: "Pat " + provider})
			rp := socialRP(t, s, fakes...)
			f := newFlow()
			page := rp.start(f)
			if fake.Kind == federationtest.OIDC && !strings.Contains(page.Body, "Continue with Example ID") {
				t.Fatalf("the OpenID provider's button does not carry its name: %.800s", page.Body)
			}
			page = continueWith(t, rp.browser, page, provider)
			if fake.Kind == federationtest.Apple {
				page = applePost(t, rp.browser, page)
			}
			tok, idt := rp.exchange(f, rp.callback(page).Get("code"))
			var claims map[string]any
			_ = idt.Claims(&claims)
			checkFederated(t, claims, provider)
			if info := userinfo(t, rp, tok); info["email"] != provider+"@example.com" || info["email_verified"] != (fake.Kind != federationtest.Facebook) {
				t.Errorf("userinfo = %v", info)
			}
		})
	}
	t.Run("a state sent to another provider's callback is refused and used up", func(t *testing.T) {
		rp := socialRP(t, s, fakes...)
		form, err := rp.start(newFlow()).FormWith("provider")
		if err != nil {
			t.Fatal(err)
		}
		toGoogle, err := rp.browser.Submit(form, nil, "provider", "google")
		if err != nil {
			t.Fatal(err)
		}
		back := google.Consent(t, toGoogle.Location).Encode()
		for _, path := range []string{"/login/facebook/callback?", "/login/google/callback?"} {
			page, err := rp.browser.Get(s.URL + path + back)
			if err != nil {
				t.Fatal(err)
			}
			if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, msgState) {
				t.Errorf("%s: got %d", path, page.Status)
			}
		}
	})
	t.Run("an unknown provider's callback is not found", func(t *testing.T) {
		page, err := browser.New(s.URL).Get(s.URL + "/login/myspace/callback?code=x&state=y")
		if err != nil {
			t.Fatal(err)
		}
		if page.Status != http.StatusNotFound {
			t.Errorf("got %d", page.Status)
		}
	})
}

// applePost plays Apple's form_post the way a browser does it: the
// cross-site POST to the callback carries no SameSite=Lax cookie, so it is
// sent without any; Gatehouse keeps the parameters and sends the browser
// back with a GET that has its cookies.
func applePost(t *testing.T, b *browser.Browser, page *browser.Page) *browser.Page {
	t.Helper()
	form, err := page.FormWith("code")
	if err != nil {
		t.Fatal(err)
	}
	noCookies := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noCookies.PostForm(form.Action, form.Fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || loc.Query().Get("code") != "" || loc.Query().Get("state") == "" {
		t.Fatalf("form_post answered %d to %v (%v); want a redirect to the callback with the state only", resp.StatusCode, loc, err)
	}
	next, err := b.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	return follow(t, b, next)
}

func TestFederationBetweenGatehouses(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		upstream := startServerB(t, gormstoretest.SQLiteURL(t))
		bob, err := identity.NewService(upstream.Store(), identity.OWASPMinimum, identity.PasswordPolicy{}).Create(ctx, identity.NewUser{
			Email: "bob@example.com", Password: "tuba ketchup lantern 9", Name: "Bob Upstream", EmailVerified: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		var downstreamClient clients.Registered
		s := startSocialServer(t, db.URL, func(c *config.Config) {
			// The downstream Gatehouse is a relying party of the upstream one.
			downstreamClient = upstream.createClient(t, clients.Spec{
				Name: "Downstream Gatehouse", RedirectURIs: []string{c.Issuer + "/login/oidc/callback"},
				Scopes: []string{"openid", "email", "profile"},
			})
			c.OIDCEnabled, c.OIDCName, c.OIDCIssuer = true, "Upstream", upstream.URL
			c.OIDCClientID, c.OIDCClientSecret = downstreamClient.Client.ID, downstreamClient.Secret
		})

		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		page := rp.start(f)
		if !strings.Contains(page.Body, "Continue with Upstream") {
			t.Fatalf("no button for the upstream Gatehouse: %.600s", page.Body)
		}
		// To the upstream Gatehouse's sign-in page, through its
		// authorization endpoint.
		page = continueWith(t, rp.browser, page, "oidc")
		if !strings.HasPrefix(page.URL.String(), upstream.URL+"/login") {
			t.Fatalf("expected the upstream sign-in page, got %s", page.URL)
		}
		// Bob signs in upstream and allows the downstream Gatehouse.
		page = follow(t, rp.browser, rp.login(page, "bob@example.com", "tuba ketchup lantern 9"))
		if !strings.Contains(page.Body, "Downstream Gatehouse") {
			t.Fatalf("expected the upstream consent page: %.600s", page.Body)
		}
		page = follow(t, rp.browser, rp.decide(page, "allow"))
		tok, idt := rp.exchange(f, rp.callback(page).Get("code"))
		var claims map[string]any
		_ = idt.Claims(&claims)
		checkFederated(t, claims, "oidc")
		if idt.Issuer != s.URL || idt.Subject == bob.ID {
			t.Errorf("iss %s sub %s: want the downstream issuer and a downstream subject", idt.Issuer, idt.Subject)
		}
		info := userinfo(t, rp, tok)
		if info["email"] != "bob@example.com" || info["email_verified"] != true || info["name"] != "Bob Upstream" {
			t.Errorf("userinfo = %v", info)
		}
		link, err := s.Store().GetIdentity(ctx, "oidc", bob.ID)
		if err != nil || link.UserID != idt.Subject {
			t.Fatalf("the downstream link of Bob's upstream subject: %+v, %v", link, err)
		}
		if q := rp.s.logs.String(); strings.Contains(q, downstreamClient.Secret) {
			t.Fatal("the upstream client secret leaked into the logs")
		}

		t.Run("with prompt=login the upstream Gatehouse asks for the password again", func(t *testing.T) {
			// OpenID Connect Core §3.1.2.1: the app wants a fresh sign-in, so
			// the upstream session must not answer for it.
			rp2 := newRelyingParty(t, s, webClient(true))
			rp2.browser = rp.browser
			f2 := newFlow()
			page := rp2.start(f2, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
			page = continueWith(t, rp2.browser, page, "oidc")
			if !strings.HasPrefix(page.URL.String(), upstream.URL+"/login") {
				t.Fatalf("expected the upstream sign-in page, got %s (%d)", page.URL, page.Status)
			}
			page = follow(t, rp2.browser, rp2.login(page, "bob@example.com", "tuba ketchup lantern 9"))
			_, idt2 := rp2.exchange(f2, rp2.callback(page).Get("code"))
			if idt2.Subject != idt.Subject {
				t.Errorf("sub %s, want %s", idt2.Subject, idt.Subject)
			}
		})
		t.Run("otherwise the upstream session signs Bob in again without a password", func(t *testing.T) {
			// End Bob's downstream sessions, so that only the upstream one is left.
			sessions, err := s.Store().ListSessionsByUser(ctx, idt.Subject)
			if err != nil || len(sessions) == 0 {
				t.Fatalf("Bob's downstream sessions: %v, %v", sessions, err)
			}
			for _, bs := range sessions {
				if _, _, err := s.Store().DeleteSession(ctx, bs.ID); err != nil {
					t.Fatal(err)
				}
			}
			rp3 := newRelyingParty(t, s, webClient(true))
			rp3.browser = rp.browser
			f3 := newFlow()
			page := rp3.start(f3)
			page = continueWith(t, rp3.browser, page, "oidc")
			if page.Location == "" {
				t.Fatalf("the upstream Gatehouse showed a page instead of answering from its session: %s", page.URL)
			}
			_, idt3 := rp3.exchange(f3, rp3.callback(page).Get("code"))
			if idt3.Subject != idt.Subject {
				t.Errorf("sub %s, want %s", idt3.Subject, idt.Subject)
			}
		})
	})
}

// accountPage loads the account page in the browser.
func accountPage(t *testing.T, b *browser.Browser, s *testServer) *browser.Page {
	t.Helper()
	page, err := b.Get(s.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// accountForm posts one of the account page's forms with a button.
func accountForm(t *testing.T, b *browser.Browser, page *browser.Page, action, provider string) *browser.Page {
	t.Helper()
	forms, err := page.Forms()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if strings.HasSuffix(f.Action, action) && slices.Contains(f.Submit["provider"], provider) {
			next, err := b.Submit(f, nil, "provider", provider)
			if err != nil {
				t.Fatal(err)
			}
			return follow(t, b, next)
		}
	}
	t.Fatalf("no %s button for %s on the account page: %.800s", action, provider, page.Body)
	return nil
}

func TestAccountPage(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
		facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
		s := startSocialServer(t, db.URL, func(c *config.Config) { withGoogle(c); withFacebook(c) }, google, facebook)
		aliceID := createAlice(t, s)
		newBrowser := func() *browser.Browser {
			b := browser.New(s.URL)
			b.Client.Transport = federationtest.Transport(nil, google, facebook)
			return b
		}

		t.Run("without a session the account page sends the browser to sign in", func(t *testing.T) {
			page := accountPage(t, newBrowser(), s)
			if page.URL.Path != "/account/login" || page.Status != http.StatusOK {
				t.Fatalf("got %d at %s", page.Status, page.URL)
			}
			if _, err := page.FormWith("password"); err != nil {
				t.Fatal("no sign-in form")
			}
		})

		b := newBrowser()
		google.SetAccount(federationtest.Account{ID: "g-sam", Email: "sam@example.com", EmailVerified: true, Name: "Sam"})
		page := continueWith(t, b, accountPage(t, b, s), "google")
		if page.URL.Path != "/account" || !strings.Contains(page.Body, "Google account") || !strings.Contains(page.Body, "sam@example.com") {
			t.Fatalf("after signing in with Google: %d at %s: %.800s", page.Status, page.URL, page.Body)
		}
		samLink, err := s.Store().GetIdentity(ctx, "google", "g-sam")
		if err != nil {
			t.Fatal(err)
		}
		samID := samLink.UserID

		t.Run("the account page links to signing out, which asks to confirm", func(t *testing.T) {
			if !strings.Contains(page.Body, `href="/oauth2/logout"`) {
				t.Fatalf("no sign-out link: %.1200s", page.Body)
			}
			confirm, err := b.Get(s.URL + "/oauth2/logout")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := confirm.FormWith("confirm"); err != nil {
				t.Fatalf("no confirmation: %d %.400s", confirm.Status, confirm.Body)
			}
		})
		t.Run("the only way to sign in has no unlink button", func(t *testing.T) {
			if strings.Contains(page.Body, "Unlink Google") || !strings.Contains(page.Body, "You can’t unlink your only way to sign in") {
				t.Fatalf("%.1200s", page.Body)
			}
			if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "https://www.facebook.com") {
				t.Errorf("the account page's form-action does not allow Facebook: %s", csp)
			}
		})

		t.Run("an account linked to another customer is refused", func(t *testing.T) {
			facebook.SetAccount(federationtest.Account{ID: "fb-other", Email: "other@example.com"})
			signInWithBrowser(t, s, newBrowser(), "facebook")
			got := accountForm(t, b, accountPage(t, b, s), "/account/link", "facebook")
			if alertText(got.Body) != "That account is already linked to someone else, or you already have an account from that provider linked." {
				t.Fatalf("alert %q: %.600s", alertText(got.Body), got.Body)
			}
		})

		t.Run("a cancel at Facebook while linking says so on the account page", func(t *testing.T) {
			facebook.Deny(true)
			defer facebook.Deny(false)
			got := accountForm(t, b, accountPage(t, b, s), "/account/link", "facebook")
			if got.URL.Path != "/account" || alertText(got.Body) != "Linking was cancelled." {
				t.Fatalf("%s: alert %q", got.URL, alertText(got.Body))
			}
		})

		t.Run("linking Facebook, then unlinking Google", func(t *testing.T) {
			facebook.SetAccount(federationtest.Account{ID: "fb-sam", Email: "sam@example.com", Name: "Sam"})
			page := accountForm(t, b, accountPage(t, b, s), "/account/link", "facebook")
			if !strings.Contains(page.Body, "The account is linked.") || !strings.Contains(page.Body, "Unlink Google") || !strings.Contains(page.Body, "Unlink Facebook") {
				t.Fatalf("after linking: %.1200s", page.Body)
			}
			if link, err := s.Store().GetIdentity(ctx, "facebook", "fb-sam"); err != nil || link.UserID != samID {
				t.Fatalf("link %+v, %v", link, err)
			}
			page = accountForm(t, b, page, "/account/unlink", "google")
			if !strings.Contains(page.Body, "The account is unlinked.") || strings.Contains(page.Body, "Unlink Facebook") {
				t.Fatalf("after unlinking: %.1200s", page.Body)
			}
			if _, err := s.Store().GetIdentity(ctx, "google", "g-sam"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Google is still linked: %v", err)
			}

			t.Run("a forged unlink of the last way to sign in is refused", func(t *testing.T) {
				link, err := page.FormWith("provider") // the link form: same CSRF token
				if err != nil {
					t.Fatal(err)
				}
				link.Action = s.URL + "/account/unlink"
				got, err := b.Submit(link, nil, "provider", "facebook")
				if err != nil {
					t.Fatal(err)
				}
				got = follow(t, b, got)
				if alertText(got.Body) != "You can’t unlink your only way to sign in." {
					t.Fatalf("alert %q", alertText(got.Body))
				}
				if _, err := s.Store().GetIdentity(ctx, "facebook", "fb-sam"); err != nil {
					t.Fatalf("the last link was removed: %v", err)
				}
			})
			t.Run("a change without the CSRF token is refused", func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/account/unlink", strings.NewReader("provider=facebook"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				got, err := b.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != http.StatusForbidden {
					t.Fatalf("status %d", got.Status)
				}
			})
			t.Run("Facebook now signs Sam in", func(t *testing.T) {
				if claims := signInWithBrowser(t, s, newBrowser(), "facebook"); claims["sub"] != samID {
					t.Fatalf("sub %v, want Sam's", claims["sub"])
				}
			})
		})

		t.Run("a customer with a password may unlink their only linked account", func(t *testing.T) {
			alice := newBrowser()
			page, err := alice.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form, err := page.FormWith("password")
			if err != nil {
				t.Fatal(err)
			}
			page, err = alice.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if page.URL.Path != "/account" || !strings.Contains(page.Body, "Password") || strings.Contains(page.Body, "Unlink") {
				t.Fatalf("Alice's account page: %.800s", page.Body)
			}
			google.SetAccount(federationtest.Account{ID: "g-alice", Email: "alice@example.com", EmailVerified: true})
			page = accountForm(t, alice, page, "/account/link", "google")
			if link, err := s.Store().GetIdentity(ctx, "google", "g-alice"); err != nil || link.UserID != aliceID {
				t.Fatalf("link %+v, %v", link, err)
			}
			page = accountForm(t, alice, page, "/account/unlink", "google")
			if !strings.Contains(page.Body, "The account is unlinked.") {
				t.Fatalf("%.800s", page.Body)
			}
		})
	})
}

// signInWithBrowser signs a customer in at a new relying party in the
// browser b, with a provider, and returns the ID token's claims.
func signInWithBrowser(t *testing.T, s *testServer, b *browser.Browser, provider string) map[string]any {
	t.Helper()
	rp := newRelyingParty(t, s, webClient(true))
	rp.browser = b
	claims, _ := signInWith(t, rp, provider)
	return claims
}

func TestLinkConfirmedWithAnotherProvider(t *testing.T) {
	ctx := context.Background()
	google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
	facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
	s := startSocialServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { withGoogle(c); withFacebook(c) }, google, facebook)

	// Max has no password: Google is the way he signs in.
	google.SetAccount(federationtest.Account{ID: "g-max", Email: "max@example.com", EmailVerified: true, Name: "Max"})
	first, _ := signInWith(t, socialRP(t, s, google, facebook), "google")

	facebook.SetAccount(federationtest.Account{ID: "fb-max", Email: "max@example.com", Name: "Max"})
	rp := socialRP(t, s, google, facebook)
	f := newFlow()
	page := continueWith(t, rp.browser, rp.start(f), "facebook")
	form, err := page.FormWith("provider")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(form.Submit["provider"], "google") || slices.Contains(form.Submit["provider"], "facebook") || form.Fields.Get("link") == "" {
		t.Fatalf("the confirmation offers %v with fields %v; want Google only, carrying the link", form.Submit["provider"], form.Fields)
	}
	page = continueWith(t, rp.browser, page, "google")
	_, idt := rp.exchange(f, rp.callback(page).Get("code"))
	if idt.Subject != first["sub"] {
		t.Fatalf("sub %s, want Max's %v", idt.Subject, first["sub"])
	}
	if link, err := s.Store().GetIdentity(ctx, "facebook", "fb-max"); err != nil || link.UserID != idt.Subject {
		t.Fatalf("Facebook was not linked: %+v, %v", link, err)
	}
	again, _ := signInWith(t, socialRP(t, s, google, facebook), "facebook")
	if again["sub"] != first["sub"] {
		t.Errorf("Facebook signs in %v, want Max", again["sub"])
	}
}
