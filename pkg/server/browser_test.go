package server_test

// The real-browser tests: Debian's chromium driven through chromedp, for
// what only a browser shows (scripts running under the pages' CSP, the
// WebAuthn API). They are in this one file and skipped, with a message,
// where no chromium is installed. Chromium refuses WebAuthn on
// http://127.0.0.1, so the server is served as http://localhost:PORT.

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// chromiumPath is where Debian installs chromium.
const chromiumPath = "/usr/bin/chromium"

// newChromium starts a headless chromium with a fresh profile, or skips
// the test when none is installed. browserDeadline bounds the whole
// browser so a hung page fails the test instead of hanging CI; no
// assertion depends on it.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	const browserDeadline = 4 * time.Minute
	return newChromiumWithin(t, browserDeadline)
}

// newChromiumWithin is newChromium with the whole browser bounded by
// deadline instead, for a longer walk (the screenshots).
func newChromiumWithin(t *testing.T, deadline time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no chromium at %s (apt-get install chromium): skipping the real-browser test", chromiumPath)
	}
	parent, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	t.Cleanup(acancel)
	ctx, ccancel := chromedp.NewContext(actx)
	t.Cleanup(ccancel)
	return ctx
}

// virtualAuthenticator gives the tab Chrome's virtual authenticator: a
// platform authenticator with discoverable credentials that verifies the
// user and answers at once.
func virtualAuthenticator() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, t, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, t, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol:                    cdpwebauthn.AuthenticatorProtocolCtap2,
				Transport:                   cdpwebauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			},
		})
		return chromedp.Void{}, err
	}
}

// withoutAutofill makes the tab's pages see a browser without passkey
// autofill, so the page falls back on its button.
func withoutAutofill() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);",
		})
		return chromedp.Void{}, err
	}
}

func TestBrowserPasskeySignIn(t *testing.T) {
	ctx := newChromium(t)
	s, _ := startMFAServer(t, gormstoretest.SQLiteURL(t), onLocalhost)
	aliceID := createAlice(t, s)

	signOut := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(s.URL + "/account"),
		chromedp.Click("p.aside a"),
		chromedp.Click(`button[name="confirm"]`),
		chromedp.WaitVisible(".glyph-success"),
	}
	steps := []struct {
		name    string
		actions []chromedp.Action[chromedp.Void]
	}{
		{"signs in with the password on the account page", []chromedp.Action[chromedp.Void]{
			virtualAuthenticator(),
			chromedp.Navigate(s.URL + "/account/login"),
			chromedp.WaitVisible("#password"),
			chromedp.SetValue("#email", "alice@example.com"),
			chromedp.SetValue("#password", alicePassword),
			chromedp.Submit("#password"),
			chromedp.WaitVisible("#passkeys-link"),
		}},
		{"registers a passkey there", []chromedp.Action[chromedp.Void]{
			chromedp.Click("#passkeys-link"),
			// The form is shown by static/passkeys.js: the script ran
			// under script-src 'self'.
			chromedp.WaitVisible("#passkey-register"),
			chromedp.SetValue("#passkey-name", "Chromium"),
			chromedp.Click("#passkey-register button"),
			// Alice's first second factor: her recovery codes, once.
			chromedp.WaitVisible("#recovery-codes"),
			chromedp.Click("#recovery-continue"),
			chromedp.WaitVisible("#passkeys-notice"),
			chromedp.WaitVisible(`li.passkey`),
		}},
		{"signs out", signOut},
		{"signs in with the passkey alone, from the browser's autofill (conditional mediation)", []chromedp.Action[chromedp.Void]{
			// The virtual authenticator answers the page's conditional
			// request at once, as a customer picking the passkey from the
			// e-mail field's suggestions.
			chromedp.Navigate(s.URL + "/account/login"),
			chromedp.WaitVisible("#passkeys-link"),
		}},
		{"signs out again", signOut},
		{"signs in with the passkey alone, from the button, in a browser without autofill", []chromedp.Action[chromedp.Void]{
			withoutAutofill(),
			chromedp.Navigate(s.URL + "/account/login"),
			chromedp.WaitVisible("#passkey-login"),
			chromedp.Click("#passkey-login button"),
			chromedp.WaitVisible("#passkeys-link"),
		}},
	}
	for _, step := range steps {
		if err := chromedp.Do(ctx, step.actions...); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	list, err := s.Store().ListPasskeys(context.Background(), aliceID)
	if err != nil || len(list) != 1 || list[0].Name != "Chromium" || list[0].LastUsedAt.IsZero() {
		t.Fatalf("passkeys %v %+v", err, list)
	}
	sessions, err := s.Store().ListSessionsByUser(context.Background(), aliceID)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions %v %+v", err, sessions)
	}
	if got := sessions[0]; !slices.Equal(got.AMR, []string{"hwk", "user"}) || got.ACR != "phr" {
		t.Fatalf("the passkey session has amr %v acr %q, want [hwk user] phr", got.AMR, got.ACR)
	}
}
