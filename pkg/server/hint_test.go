package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// OpenID Connect Core §3.1.2.1: with an id_token_hint naming another
// customer than the browser's, the server hands out no token for the
// browser's customer: it neither reuses nor steps up their session.
func TestIDTokenHintNamingAnotherCustomer(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, clock := startMFAServer(t, db.URL, nil)
		createAlice(t, s)
		const bobPassword = "tuba ketchup lantern 9"
		svc := identity.NewService(s.Store(), identity.OWASPMinimum, identity.PasswordPolicy{})
		if _, err := svc.Create(context.Background(), identity.NewUser{Email: "bob@example.com", Password: bobPassword, EmailVerified: true}); err != nil {
			t.Fatal(err)
		}
		rp := newRelyingParty(t, s, webClient(true))

		// Bob's ID token, from his own browser: the app's hint.
		rp.browser = browser.New(s.URL)
		fb := newFlow()
		tok, bobIDT := rp.exchange(fb, rp.callback(rp.login(rp.start(fb), "bob@example.com", bobPassword)).Get("code"))
		bobHint, _ := tok.Extra("id_token").(string)
		bobSub := bobIDT.Subject

		// Alice's browser: signed in with her password (acr 1) on the
		// account page, where she enrols an authenticator app.
		alice := browser.New(s.URL)
		key, _ := enrolFromAccount(t, s, alice, clock)
		rp.browser = alice
		hinted := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("acr_values", "2"), oauth2.SetAuthURLParam("id_token_hint", bobHint)}

		t.Run("prompt=none is login_required, not a step-up", func(t *testing.T) {
			cb := rp.callback(rp.start(newFlow(), append(hinted, oauth2.SetAuthURLParam("prompt", "none"))...))
			if cb.Get("error") != "login_required" {
				t.Fatalf("callback %v", cb)
			}
		})

		t.Run("otherwise the sign-in page asks for the hinted customer instead of Alice's second factor", func(t *testing.T) {
			page := rp.start(newFlow(), hinted...)
			if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="login-error"`) || !strings.Contains(page.Body, "different account") {
				t.Fatalf("not the sign-in page with its notice: %d %s %.600s", page.Status, page.Location, page.Body)
			}
			if _, err := page.FormWith("password"); err != nil {
				t.Fatal("no password form")
			}
			if strings.Contains(page.Body, `name="method" value="totp"`) {
				t.Fatal("Alice's second factor was asked")
			}

			t.Run("signing in as Alice there is login_required, not a token for Alice", func(t *testing.T) {
				clock.nextStep()
				next := rp.login(page, "alice@example.com", alicePassword)
				cb := rp.callback(submitCode(t, alice, next, "totp", totpCode(t, key, clock.Now())))
				if cb.Get("error") != "login_required" || cb.Get("code") != "" {
					t.Fatalf("callback %v", cb)
				}
			})

			t.Run("signing in as Bob there gives Bob's token", func(t *testing.T) {
				f := newFlow()
				page := rp.start(f, oauth2.SetAuthURLParam("id_token_hint", bobHint))
				_, idt := rp.exchange(f, rp.callback(rp.login(page, "bob@example.com", bobPassword)).Get("code"))
				if idt.Subject != bobSub {
					t.Fatalf("subject %s, want Bob's %s", idt.Subject, bobSub)
				}
			})
		})
	})
}
