package server_test

// A walk through every hosted page in one real browser: the CI checks a
// page must pass (no raw message id shown, nothing wider than a phone,
// nothing loaded from an origin other than the server's and the
// configured and registered logos'), and, with -screenshots=DIR, the
// documentation's screenshots of each page at phone and desktop widths in
// light and dark:
//
//	go test ./pkg/server -run TestScreenshots -args -screenshots=../../docs/screenshots

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
	"github.com/gatehouse-id/gatehouse/templates"
)

// screenshotsDir, when set, makes TestScreenshots write the pages' PNGs
// there.
var screenshotsDir = flag.String("screenshots", "", "write screenshots of every hosted page to this folder (TestScreenshots)")

// viewport is a width and colour scheme a walk shows the pages in.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
	scheme        string // "light" or "dark"
}

// phoneWidth is the narrowest width the pages are checked at.
const phoneWidth = 390

// tourSite is a server with every page on (providers, sign-up with terms,
// email codes, passkeys), branded, with its logo and its app's logo each
// served from an origin of its own.
type tourSite struct {
	s        *testServer
	rp       *relyingParty
	allowed  []string // origins the pages may load from
	password string
}

func startTourSite(t *testing.T) *tourSite {
	t.Helper()
	logos := func(fill string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/svg+xml")
			fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="16" fill="%s"/><circle cx="32" cy="32" r="14" fill="#fff"/></svg>`, fill)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	brandLogo, appLogo := logos("#0b7a4b"), logos("#c2410c")

	google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
	facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
	github := federationtest.New(t, federationtest.GitHub, "gh-client", "gh-secret")
	apple := federationtest.New(t, federationtest.Apple, "com.example.signin", "")
	keyFile := filepath.Join(t.TempDir(), "AuthKey.p8")
	if err := os.WriteFile(keyFile, []byte(apple.ApplePrivateKeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSocialServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) {
		withGoogle(c)
		withFacebook(c)
		c.GitHubEnabled, c.GitHubClientID, c.GitHubClientSecret = true, "gh-client", "gh-secret"
		c.AppleEnabled, c.AppleClientID, c.AppleTeamID, c.AppleKeyID, c.ApplePrivateKeyFile = true, "com.example.signin", apple.AppleTeamID, apple.AppleKeyID, keyFile
		c.DevAllowLoopbackURLs = true
		c.EmailCodeSignIn = true
		c.BrandingProductName, c.BrandingLogoURL, c.BrandingPrimaryColor = "Acme ID", brandLogo.URL+"/logo.svg", "#0b7a4b"
		c.BrandingPrivacyURL, c.TermsURL = "https://acme.example/privacy", "https://acme.example/terms"
	}, google, facebook, github, apple)

	spec := brandedApp()
	spec.LogoURI = appLogo.URL + "/logo.svg"
	reg, err := s.Services().Clients.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	rp := newRelyingParty(t, s, webClient(false))
	rp.reg, rp.oauth.ClientID, rp.oauth.ClientSecret = reg, reg.Client.ID, reg.Secret
	return &tourSite{s: s, rp: rp, allowed: []string{s.URL, brandLogo.URL, appLogo.URL}, password: alicePassword}
}

// authorizeURL starts a new sign-in to the site's app.
func (site *tourSite) authorizeURL() string {
	f := newFlow()
	return site.rp.oauth.AuthCodeURL(f.state, gooidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
}

// newCustomer creates a customer for one walk, so each walk enrols a
// second factor afresh.
func (site *tourSite) newCustomer(t *testing.T, n int) string {
	t.Helper()
	email := fmt.Sprintf("casey%d@example.com", n)
	svc := identity.NewService(site.s.Store(), identity.OWASPMinimum, identity.PasswordPolicy{})
	if _, err := svc.Create(context.Background(), identity.NewUser{Email: email, Password: site.password, Name: "Casey Example", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	return email
}

// requestLog keeps the URLs the tab requested.
type requestLog struct {
	mu   sync.Mutex
	urls []string
}

// take returns the URLs requested since the last take.
func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.urls
	l.urls = nil
	return out
}

// watchRequests records every request the tab sends, from the DevTools
// network events, until ctx ends.
func watchRequests(ctx context.Context, log *requestLog) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(_ context.Context, t *chromedp.Target) error {
		events := cdp.Events(ctx, t, network.RequestWillBeSent)
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		go func() {
			for ev, err := range events {
				if err != nil {
					return
				}
				if ev.Request != nil {
					log.mu.Lock()
					log.urls = append(log.urls, ev.Request.URL)
					log.mu.Unlock()
				}
			}
		}()
		return nil
	})
}

// show sets the tab's width and colour scheme.
func show(v viewport) chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if v.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	return chromedp.Steps(
		chromedp.EmulateViewport(v.width, v.height, opts...),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v.scheme}},
			})
			return err
		}),
	)
}

// tourStep reaches one page.
type tourStep struct {
	page    string
	actions []chromedp.Action[chromedp.Void]
}

// steps are the walk through every page as one customer: the pages
// without a session, sign-up, a sign-in to the app up to its consent, the
// account pages, enrolment of an authenticator app, sign-out, and the
// second factor of the next sign-in.
func (site *tourSite) steps(t *testing.T, email string, n int) []tourStep {
	base := site.s.URL
	var secret string
	go_ := func(path, wait string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + path), chromedp.WaitVisible(wait)}
	}
	signIn := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(site.authorizeURL()),
		chromedp.WaitVisible("#password"),
		chromedp.SetValue("#email", email),
		chromedp.SetValue("#password", site.password),
		chromedp.Submit("#password"),
	}
	return []tourStep{
		{"error", go_("/login?auth=expired", "h1")},
		{"login", []chromedp.Action[chromedp.Void]{chromedp.Navigate(site.authorizeURL()), chromedp.WaitVisible("#password")}},
		{"signup", go_("/signup", "#terms")},
		{"check_email", []chromedp.Action[chromedp.Void]{
			chromedp.SetValue("#email", fmt.Sprintf("new%d@example.com", n)),
			chromedp.SetValue("#name", "Noor Example"),
			chromedp.SetValue("#password", site.password),
			chromedp.Click("#terms"),
			chromedp.Submit("#password"),
			chromedp.WaitVisible("#code"),
		}},
		{"reset_request", go_("/reset", "#email")},
		{"reset_password", go_("/reset/password?token=expired", "h1")},
		{"verify_email", go_("/verify?token=expired", "h1")},
		{"email_code", go_("/login/code", "#email")},
		{"account_message", go_("/account/email/confirm?token=expired", "h1")},
		{"consent", append(slices.Clone(signIn), chromedp.WaitVisible(`button[name="decision"]`))},
		{"account", go_("/account", "#passkeys-link")},
		{"account_profile", go_("/account/profile", "h1")},
		{"account_password", go_("/account/password", "#new_password")},
		{"account_sessions", go_("/account/sessions", "h1")},
		{"account_apps", go_("/account/apps", "h1")},
		{"account_data", go_("/account/data", "h1")},
		{"passkeys", go_("/account/passkeys", "h1")},
		{"mfa_enrol", append(go_("/account/mfa", "#totp-secret"), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			s, err := chromedp.Text("#totp-secret")(ctx, tg)
			secret = strings.ReplaceAll(s, " ", "")
			return err
		}))},
		{"recovery_codes", []chromedp.Action[chromedp.Void]{
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.SetValue("#code", totpCode(t, secret, time.Now()))(ctx, tg)
				return err
			}),
			chromedp.Submit("#code"),
			chromedp.WaitVisible("#recovery-codes"),
		}},
		{"logout_confirm", go_("/oauth2/logout?client_id="+url.QueryEscape(site.rp.reg.Client.ID), `button[name="confirm"]`)},
		{"logged_out", []chromedp.Action[chromedp.Void]{chromedp.Click(`button[name="confirm"]`), chromedp.WaitVisible(".glyph-success")}},
		{"mfa", append(slices.Clone(signIn), chromedp.WaitVisible(`input[name="method"][value="totp"] ~ .field #code`))},
	}
}

// pageFacts is what a check reads of a shown page.
type pageFacts struct {
	Text        string `json:"text"`
	ScrollWidth int    `json:"scrollWidth"`
	ClientWidth int    `json:"clientWidth"`
	// HiddenShown are elements marked hidden that the stylesheet shows
	// anyway (a display rule that beats the attribute).
	HiddenShown []string `json:"hiddenShown"`
}

// readFacts collects the page's visible text and the words of its
// attributes a person meets (alt, title, aria-label, placeholder), and
// its widths, and the elements marked hidden that show all the same.
const readFacts = `(() => {
  const words = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll("[alt], [title], [aria-label], [placeholder]")) {
    for (const a of ["alt", "title", "aria-label", "placeholder"]) {
      if (el.hasAttribute(a)) words.push(el.getAttribute(a));
    }
  }
  const hiddenShown = [...document.querySelectorAll("[hidden]")].filter(el => getComputedStyle(el).display !== "none").map(el => el.outerHTML.slice(0, 80));
  return {text: words.join("\n"), scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, hiddenShown};
})()`

// messageIDs are the English message ids, none of which may show.
func messageIDs(t *testing.T) []string {
	t.Helper()
	b, err := fs.ReadFile(templates.FS(), "locales/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

// walk shows every page in each viewport, checks each, and hands the
// screenshot of each to shot when it is not nil.
func walk(t *testing.T, ctx context.Context, site *tourSite, views []viewport, shot func(page string, v viewport, png []byte)) {
	t.Helper()
	ids := messageIDs(t)
	requests := &requestLog{}
	// Without autofill the sign-in page offers its passkey button, as
	// most browsers show it, rather than an autofill request that the
	// headless browser, with no authenticator, turns down.
	if err := chromedp.Do(ctx, watchRequests(ctx, requests), withoutAutofill()); err != nil {
		t.Fatal(err)
	}
	origin := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return raw
		}
		return u.Scheme + "://" + u.Host
	}
	seen := map[string]bool{}
	for n, v := range views {
		if err := chromedp.Do(ctx, show(v)); err != nil {
			t.Fatal(err)
		}
		email := site.newCustomer(t, n)
		for _, step := range site.steps(t, email, n) {
			seen[step.page] = true
			// Each page within its own minute, so a page that never shows
			// what the step waits for names itself and where the browser
			// is, rather than using up the whole browser's deadline.
			stepCtx, cancel := context.WithTimeout(ctx, time.Minute)
			err := chromedp.Do(stepCtx, step.actions...)
			cancel()
			if err != nil {
				at, _ := chromedp.Run(ctx, chromedp.Location())
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 300) : ""`))
				t.Fatalf("%s, %s: reaching the page: %v (the browser is at %s: %q)", v.name, step.page, err, at, body)
			}
			facts, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](readFacts))
			if err != nil {
				t.Fatalf("%s, %s: %v", v.name, step.page, err)
			}
			for _, id := range ids {
				if strings.Contains(facts.Text, id) {
					t.Errorf("%s, %s: shows the raw message id %q", v.name, step.page, id)
				}
			}
			for _, el := range facts.HiddenShown {
				t.Errorf("%s, %s: an element marked hidden shows: %s", v.name, step.page, el)
			}
			if v.width <= phoneWidth && facts.ScrollWidth > facts.ClientWidth {
				t.Errorf("%s, %s: %dpx wide on a %dpx phone", v.name, step.page, facts.ScrollWidth, facts.ClientWidth)
			}
			for _, u := range requests.take() {
				if strings.HasPrefix(u, "http") && !slices.Contains(site.allowed, origin(u)) {
					t.Errorf("%s, %s: loads %s, from an origin that is neither the server's nor a logo's", v.name, step.page, u)
				}
			}
			if shot != nil {
				b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("%s, %s: screenshot: %v", v.name, step.page, err)
				}
				shot(step.page, v, b)
			}
		}
	}
	for _, page := range requiredPagesForTour() {
		if !seen[page] {
			t.Errorf("the walk misses the page %s", page)
		}
	}
}

// requiredPagesForTour are the page templates of templates/, each of
// which the walk must show.
func requiredPagesForTour() []string {
	names, _ := fs.Glob(templates.FS(), "*.html")
	var pages []string
	for _, n := range names {
		if n != "layout.html" {
			pages = append(pages, strings.TrimSuffix(n, ".html"))
		}
	}
	return pages
}

// TestBrowserPages is the CI check of every page at phone width: no raw
// message id, no horizontal overflow, nothing from another origin than
// the server's and the logos'.
func TestBrowserPages(t *testing.T) {
	// 22 pages in one browser: more than newChromium's two minutes when
	// CI runs other packages' tests beside it.
	ctx := newChromiumWithin(t, 6*time.Minute)
	site := startTourSite(t)
	walk(t, ctx, site, []viewport{{"phone", phoneWidth, 844, true, "light"}}, nil)
}

// TestScreenshots writes the documentation's screenshots (docs/README:
// go test ./pkg/server -run TestScreenshots -args -screenshots=../../docs/screenshots),
// checking each page on the way; without -screenshots it is skipped.
func TestScreenshots(t *testing.T) {
	if *screenshotsDir == "" {
		t.Skip("no -screenshots=DIR: nothing to write (the CI checks are TestBrowserPages)")
	}
	if err := os.MkdirAll(*screenshotsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := newChromiumWithin(t, 10*time.Minute)
	site := startTourSite(t)
	views := []viewport{
		{"phone-light", phoneWidth, 844, true, "light"},
		{"phone-dark", phoneWidth, 844, true, "dark"},
		{"desktop-light", 1280, 800, false, "light"},
		{"desktop-dark", 1280, 800, false, "dark"},
	}
	walk(t, ctx, site, views, func(page string, v viewport, raw []byte) {
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s %s: %v", page, v.name, err)
		}
		var out bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(*screenshotsDir, page+"-"+v.name+".png")
		if err := os.WriteFile(name, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	})
}
