package server_test

// The real-browser walk of self-service: an app's sign-in page, "Create
// account", the verification mail read from the in-process SMTP server,
// its link opened in the browser, the sign-in, back at the app, then the
// account page. Uses the chromedp harness of browser_test.go; skipped
// where no chromium is installed.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// appServer is the app the browser comes back to: it shows a page and
// keeps the code it was given.
type appServer struct {
	*httptest.Server
	mu   sync.Mutex
	code string
}

func startApp(t *testing.T) *appServer {
	t.Helper()
	app := &appServer{}
	app.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			// The browser's own requests (a favicon).
			http.NotFound(w, r)
			return
		}
		app.mu.Lock()
		app.code = r.URL.Query().Get("code")
		app.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Photo Album</title><h1 id="app-home">Welcome back to Photo Album</h1>`)
	}))
	t.Cleanup(app.Close)
	return app
}

func (a *appServer) receivedCode() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.code
}

func TestBrowserSignUpVerifySignInAccount(t *testing.T) {
	ctx := newChromium(t)
	s := startSelfServiceServer(t, gormstoretest.SQLiteURL(t), onLocalhost)
	app := startApp(t)
	callback := strings.Replace(app.URL, "127.0.0.1", "localhost", 1) + "/callback"
	spec := webClient(true)
	spec.RedirectURIs = []string{callback}
	rp := newRelyingParty(t, s.testServer, spec)
	rp.oauth.RedirectURL = callback
	f := newFlow()
	authURL := rp.oauth.AuthCodeURL(f.state, gooidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))

	steps := []struct {
		name    string
		actions []chromedp.Action[chromedp.Void]
	}{
		{"opens the app's sign-in page and creates an account there", []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(authURL),
			chromedp.WaitVisible("#password"),
			chromedp.Click(`a[href*="/signup"]`),
			chromedp.WaitVisible("#name"),
			chromedp.SetValue("#email", "nina@example.com"),
			chromedp.SetValue("#name", "Nina Simone"),
			chromedp.SetValue("#password", ninaPassword),
			chromedp.Submit("#password"),
			chromedp.WaitVisible("#check-email-lede"),
		}},
	}
	for _, step := range steps {
		if err := chromedp.Do(ctx, step.actions...); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	// The mail, from the in-process SMTP server.
	link := mailLink(t, s.nextMail(t, "nina@example.com"))
	steps = []struct {
		name    string
		actions []chromedp.Action[chromedp.Void]
	}{
		{"confirms the email from the link", []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(link),
			chromedp.Click(`form button[type="submit"]`),
			chromedp.WaitVisible("#verify-done"),
			chromedp.Click("#verify-continue"),
		}},
		{"signs in and is back at the app", []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible("#password"),
			chromedp.SetValue("#email", "nina@example.com"),
			chromedp.SetValue("#password", ninaPassword),
			chromedp.Submit("#password"),
			chromedp.WaitVisible("#app-home"),
		}},
		{"opens the account page, signed in", []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(s.URL + "/account"),
			chromedp.WaitVisible("#manage-sessions"),
		}},
	}
	for _, step := range steps {
		if err := chromedp.Do(ctx, step.actions...); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	if email, err := chromedp.Run(ctx, chromedp.Text(".account-email")); err != nil || email != "nina@example.com" {
		t.Fatalf("the account page shows %q (%v)", email, err)
	}
	// The app's code is Nina's, with her email confirmed.
	tok, _ := rp.exchange(f, app.receivedCode())
	if info := userinfo(t, rp, tok); info["email"] != "nina@example.com" || info["email_verified"] != true {
		t.Fatalf("the app's userinfo: %v", info)
	}
}
