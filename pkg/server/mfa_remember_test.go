package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// submitRemembering posts the second-step form of the method with the
// code and the "remember this device" box ticked.
func submitRemembering(t *testing.T, b *browser.Browser, page *browser.Page, method, code string) *browser.Page {
	t.Helper()
	forms, err := page.Forms()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if f.Fields.Get("method") == method {
			next, err := b.Submit(f, url.Values{"code": {code}, "remember": {"1"}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			return next
		}
	}
	t.Fatalf("no %s form: %.600s", method, page.Body)
	return nil
}

// endSessions drops the customer's browser sessions from the store, as
// their expiry would: the browsers keep their device cookies.
func endSessions(t *testing.T, s *testServer, userID string) {
	t.Helper()
	ctx := context.Background()
	list, err := s.Store().ListSessionsByUser(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range list {
		if _, _, err := s.Store().DeleteSession(ctx, bs.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRememberedDevice(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, clock := startMFAServer(t, db.URL, func(c *config.Config) {
			onLocalhost(c)
			c.MFARememberDeviceDays = 30
		})
		aliceID := createAlice(t, s)
		key, _ := enrolFromAccount(t, s, browser.New(s.URL), clock)
		rp := newRelyingParty(t, s, webClient(true))
		ctx := context.Background()

		// laptop: a browser that signs in with both factors and asks to be
		// remembered.
		laptop := browser.New(s.URL)
		rememberLaptop := func(t *testing.T) {
			t.Helper()
			clock.nextStep()
			rp.browser = laptop
			f := newFlow()
			page := rp.login(rp.start(f), "alice@example.com", alicePassword)
			if !strings.Contains(page.Body, `id="remember-totp"`) || !strings.Contains(page.Body, "30 days") {
				t.Fatalf("the second step offers no remembering: %.1200s", page.Body)
			}
			cb := rp.callback(submitRemembering(t, laptop, page, "totp", totpCode(t, key, clock.Now())))
			wantAuth(t, idClaims(t, rp, f, cb), []string{"pwd", "otp", "mfa"}, "2")
			endSessions(t, s, aliceID)
		}
		// signIn signs in with the password in the browser and returns the
		// page after it: the app's callback, or the second step.
		signIn := func(b *browser.Browser, f flow, extra ...oauth2.AuthCodeOption) *browser.Page {
			rp.browser = b
			return rp.login(rp.start(f, extra...), "alice@example.com", alicePassword)
		}
		asksSecondStep := func(t *testing.T, page *browser.Page) {
			t.Helper()
			if page.Status != http.StatusOK || !strings.Contains(page.Body, `name="method" value="totp"`) {
				t.Fatalf("the second step was not asked: %d %s %.400s", page.Status, page.Location, page.Body)
			}
		}

		t.Run("the box remembers the browser: the next app sign-in skips the second factor, amr claims no otp or mfa, acr 2", func(t *testing.T) {
			rememberLaptop(t)
			if evs := eventsOf(t, s, "user.mfa.enrolled", aliceID); !strings.Contains(string(evs[len(evs)-1].Data), `"remembered_device"`) {
				t.Fatalf("no user.mfa.enrolled for the device: %+v", evs)
			}
			f := newFlow()
			claims := idClaims(t, rp, f, rp.callback(signIn(laptop, f, oauth2.SetAuthURLParam("acr_values", "2"))))
			wantAuth(t, claims, []string{"pwd"}, "2")
			logins := eventsOf(t, s, "user.login.succeeded", aliceID)
			if d := string(logins[len(logins)-1].Data); !strings.Contains(d, `"second_factor":"remembered_device"`) {
				t.Fatalf("the sign-in event does not say the device stood in: %s", d)
			}
			endSessions(t, s, aliceID)
		})

		t.Run("another browser is asked", func(t *testing.T) {
			asksSecondStep(t, signIn(browser.New(s.URL), newFlow()))
		})

		t.Run("prompt=login asks the second factor on a remembered browser", func(t *testing.T) {
			asksSecondStep(t, signIn(laptop, newFlow(), oauth2.SetAuthURLParam("prompt", "login")))
		})

		t.Run("max_age shorter than the time since the second factor asks it", func(t *testing.T) {
			clock.nextStep()
			asksSecondStep(t, signIn(laptop, newFlow(), oauth2.SetAuthURLParam("max_age", "10")))
		})

		t.Run("acr_values=phr asks for more than a remembered browser", func(t *testing.T) {
			asksSecondStep(t, signIn(laptop, newFlow(), oauth2.SetAuthURLParam("acr_values", "phr")))
		})

		t.Run("the account page's own sign-in always asks", func(t *testing.T) {
			page, err := laptop.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form, err := page.FormWith("password")
			if err != nil {
				t.Fatal(err)
			}
			next, err := laptop.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			asksSecondStep(t, next)
			if strings.Contains(next.Body, `id="remember-totp"`) {
				t.Fatal("the account page's second step offers remembering, which it does not honour")
			}
		})

		t.Run("the sessions page lists it, and forgetting it asks again", func(t *testing.T) {
			clock.nextStep()
			page, err := laptop.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form, _ := page.FormWith("password")
			page, err = laptop.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if page = submitCode(t, laptop, page, "totp", totpCode(t, key, clock.Now())); page.Status != http.StatusOK {
				t.Fatalf("account sign-in: %d", page.Status)
			}
			list, err := laptop.Get(s.URL + "/account/sessions")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(list.Body, `id="devices"`) || !strings.Contains(list.Body, "this device") {
				t.Fatalf("the remembered device is not listed: %.1500s", list.Body)
			}
			var forget browser.Form
			forms, _ := list.Forms()
			for _, f := range forms {
				if strings.HasSuffix(f.Action, "/account/devices/forget") {
					forget = f
				}
			}
			done, err := laptop.Submit(forget, nil, "", "")
			if err != nil || !strings.Contains(done.Body, "ask for the second step again") {
				t.Fatalf("forgetting: %v %.600s", err, done.Body)
			}
			if evs := eventsOf(t, s, "user.mfa.removed", aliceID); len(evs) == 0 || !strings.Contains(string(evs[0].Data), `"remembered_device"`) {
				t.Fatalf("user.mfa.removed: %+v", evs)
			}
			endSessions(t, s, aliceID)
			asksSecondStep(t, signIn(laptop, newFlow()))
		})

		forgotten := func(t *testing.T) {
			t.Helper()
			if list, err := s.Store().ListMFADevices(ctx, aliceID, clock.Now()); err != nil || len(list) != 0 {
				t.Fatalf("remembered devices left: %+v %v", list, err)
			}
		}
		t.Run("a new password forgets every remembered browser", func(t *testing.T) {
			rememberLaptop(t)
			if err := s.Services().Accounts.SetPassword(ctx, aliceID, alicePassword); err != nil {
				t.Fatal(err)
			}
			forgotten(t)
		})
		t.Run("signing out everywhere forgets every remembered browser", func(t *testing.T) {
			rememberLaptop(t)
			if _, err := s.Services().Accounts.EndSessionsOf(ctx, aliceID); err != nil {
				t.Fatal(err)
			}
			forgotten(t)
		})
		t.Run("an operator's reset of the second factors forgets every remembered browser", func(t *testing.T) {
			rememberLaptop(t)
			if err := s.Services().MFA.Reset(ctx, aliceID); err != nil {
				t.Fatal(err)
			}
			forgotten(t)
		})
	})
}

// A customer whose first second factor is a passkey gets recovery codes
// with it, sees how many are left, and signs in with one.
func TestPasskeyFirstBringsRecoveryCodes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, _ := startMFAServer(t, db.URL, onLocalhost)
		aliceID := createAlice(t, s)
		home := browser.New(s.URL)
		page, err := home.Get(s.URL + "/account/login")
		if err != nil {
			t.Fatal(err)
		}
		form, _ := page.FormWith("password")
		if _, err := home.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", ""); err != nil {
			t.Fatal(err)
		}
		first := newSoftKey(s, aliceID, false)
		page = first.register(t, home, s, "Laptop")
		codes, next := recoveryCodes(t, home, page)
		if !strings.Contains(next.Body, `id="passkeys-notice"`) {
			t.Fatalf("after the codes: %.600s", next.Body)
		}
		acct, err := home.Get(s.URL + "/account")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(acct.Body, `id="recovery-left"`) || !strings.Contains(acct.Body, ": 10") || !strings.Contains(acct.Body, `id="recovery-new"`) {
			t.Fatalf("the account page does not show the codes: %.2000s", acct.Body)
		}

		t.Run("a second passkey brings none", func(t *testing.T) {
			page := newSoftKey(s, aliceID, true).register(t, home, s, "Phone")
			if strings.Contains(page.Body, `id="recovery-codes"`) || !strings.Contains(page.Body, `id="passkeys-notice"`) {
				t.Fatalf("a second passkey: %.600s", page.Body)
			}
		})

		t.Run("a recovery code is the second factor after the password", func(t *testing.T) {
			rp := newRelyingParty(t, s, webClient(true))
			rp.browser = browser.New(s.URL)
			f := newFlow()
			page := rp.login(rp.start(f), "alice@example.com", alicePassword)
			cb := rp.callback(submitCode(t, rp.browser, page, "recovery_code", codes[3]))
			wantAuth(t, idClaims(t, rp, f, cb), []string{"pwd", "otp", "mfa"}, "2")
		})

		t.Run("new codes from the account page", func(t *testing.T) {
			acct, err := home.Get(s.URL + "/account")
			if err != nil {
				t.Fatal(err)
			}
			regen, err := acct.FormWith("csrf")
			if err != nil {
				t.Fatal(err)
			}
			forms, _ := acct.Forms()
			for _, f := range forms {
				if strings.HasSuffix(f.Action, "/account/mfa/recovery") {
					regen = f
				}
			}
			page, err := home.Submit(regen, nil, "", "")
			if err != nil {
				t.Fatal(err)
			}
			fresh, _ := recoveryCodes(t, home, page)
			if fresh[0] == codes[0] {
				t.Fatal("the same codes again")
			}
		})
	})
}
