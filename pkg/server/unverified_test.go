package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// With unverified_sign_in off, no first factor lets a customer with an
// unconfirmed email in: each ends on the "check your inbox" page (403).
func TestUnverifiedSignInOffHoldsEveryFirstFactor(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, func(c *config.Config) {
			onLocalhost(c)
			c.UnverifiedSignIn = false
			c.EmailCodeSignIn = true
		})
		ctx := context.Background()
		aliceID := createAlice(t, s.testServer)
		// Alice adds a passkey while her email is verified, then it is
		// not any more (as after an import, or a provider's sign-up).
		home := browser.New(s.URL)
		page, err := home.Get(s.URL + "/account/login")
		if err != nil {
			t.Fatal(err)
		}
		form, _ := page.FormWith("password")
		if _, err := home.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", ""); err != nil {
			t.Fatal(err)
		}
		key := newSoftKey(s.testServer, aliceID, false)
		key.registerPast(t, home, s.testServer, "Laptop")
		if err := s.Store().UpdateUser(ctx, aliceID, func(u storage.User) (storage.User, error) {
			u.EmailVerified = false
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		before := sessionsOf(t, s.testServer, aliceID)
		held := func(t *testing.T, page *browser.Page) {
			t.Helper()
			if page.Status != http.StatusForbidden || !strings.Contains(page.Body, "before you sign in") {
				t.Fatalf("not held for the email: %d %s %.400s", page.Status, page.Location, page.Body)
			}
			if sessionsOf(t, s.testServer, aliceID) != before {
				t.Fatal("a session started")
			}
		}
		rp := newRelyingParty(t, s.testServer, webClient(true))

		t.Run("a password on an app's sign-in page", func(t *testing.T) {
			rp.browser = browser.New(s.URL)
			held(t, rp.login(rp.start(newFlow()), "alice@example.com", alicePassword))
		})
		t.Run("a password on the account's sign-in page", func(t *testing.T) {
			b := browser.New(s.URL)
			page, err := b.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form, _ := page.FormWith("password")
			next, err := b.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			held(t, next)
		})
		t.Run("a passkey", func(t *testing.T) {
			rp.browser = browser.New(s.URL)
			page := rp.start(newFlow())
			form := passkeyForm(t, page, "passkey-login")
			c := begin(t, rp.browser, page, "/login/passkey/begin", form)
			next, err := rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "response": {key.assert(t, c)}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			held(t, next)
		})
		t.Run("a mailed code: none is sent to an unconfirmed email", func(t *testing.T) {
			b := browser.New(s.URL)
			page, err := b.Get(s.URL + "/login/code")
			if err != nil {
				t.Fatal(err)
			}
			page = submit(t, b, page, "email", url.Values{"email": {"alice@example.com"}}, "send")
			if page.Status != http.StatusOK {
				t.Fatalf("send: %d", page.Status)
			}
			s.noMail(t)
			page = submit(t, b, page, "code", url.Values{"email": {"alice@example.com"}, "code": {"123456"}}, "")
			if page.Status != http.StatusUnauthorized || sessionsOf(t, s.testServer, aliceID) != before {
				t.Fatalf("a code sign-in: %d", page.Status)
			}
		})
	})
}

// A provider sign-in is a first factor like the others: held while the
// email is unconfirmed, unless the provider, trusted for emails, vouches
// for the customer's own address, which marks it verified.
func TestUnverifiedSignInOffWithProviders(t *testing.T) {
	google := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
	facebook := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
	s := startSocialServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) {
		withGoogle(c)
		withFacebook(c)
		c.UnverifiedSignIn = false
	}, google, facebook)
	ctx := context.Background()

	t.Run("a new customer whose email Facebook reports is held", func(t *testing.T) {
		facebook.SetAccount(federationtest.Account{ID: "fb-finn", Email: "finn@example.com"})
		rp := socialRP(t, s, google, facebook)
		page := continueWith(t, rp.browser, rp.start(newFlow()), "facebook")
		if page.Status != http.StatusForbidden || !strings.Contains(page.Body, "before you sign in") {
			t.Fatalf("not held: %d %.400s", page.Status, page.Body)
		}
	})
	t.Run("a new customer whose email Google verified signs in", func(t *testing.T) {
		google.SetAccount(federationtest.Account{ID: "g-gina", Email: "gina@example.com", EmailVerified: true})
		claims, _ := signInWith(t, socialRP(t, s, google, facebook), "google")
		checkFederated(t, claims, "google")
	})
	t.Run("Google vouching for a linked customer's own unconfirmed email marks it verified", func(t *testing.T) {
		aliceID := createAlice(t, s)
		if err := s.Store().UpdateUser(ctx, aliceID, func(u storage.User) (storage.User, error) {
			u.EmailVerified = false
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Store().CreateIdentity(ctx, storage.Identity{Provider: "google", Subject: "g-alice", UserID: aliceID, Email: "alice@example.com"}); err != nil {
			t.Fatal(err)
		}
		google.SetAccount(federationtest.Account{ID: "g-alice", Email: "alice@example.com", EmailVerified: true})
		claims, _ := signInWith(t, socialRP(t, s, google, facebook), "google")
		if claims["sub"] != aliceID {
			t.Fatalf("sub %v", claims["sub"])
		}
		u, err := s.Store().GetUser(ctx, aliceID)
		if err != nil || !u.EmailVerified {
			t.Fatalf("email_verified %v %v", u.EmailVerified, err)
		}
		if evs := eventsOf(t, s, "user.email_verified", aliceID); len(evs) != 1 {
			t.Fatalf("user.email_verified: %+v", evs)
		}
	})
}
