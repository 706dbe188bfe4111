package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// onLocalhost serves the test server as http://localhost:PORT: WebAuthn
// refuses IP addresses as relying party IDs.
func onLocalhost(c *config.Config) {
	c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1)
}

// softKey is a software authenticator (virtualwebauthn) with one
// credential, as a customer's device.
type softKey struct {
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newSoftKey(s *testServer, userID string, synced bool) *softKey {
	return &softKey{
		rp: virtualwebauthn.RelyingParty{ID: "localhost", Name: "Gatehouse", Origin: s.URL},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
			UserHandle: []byte(userID), BackupEligible: synced, BackupState: synced,
		}),
		cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key()),
	}
}

// p256Key is a PKCS #8 P-256 private key whose public coordinates both
// take 32 bytes. virtualwebauthn writes a coordinate's big-endian bytes
// without the leading zeros that COSE requires (RFC 9053 section 7.1.1:
// the length is the curve's), so about one key in 128 would be refused
// by the server, rightly; a real authenticator pads.
func p256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return der
	}
}

// ceremony is what a begin endpoint answers.
type ceremony struct {
	ID      string          `json:"id"`
	Options json.RawMessage `json:"publicKey"`
}

// begin posts a passkey form's fields to its begin URL, as the page's
// script does.
func begin(t *testing.T, b *browser.Browser, page *browser.Page, path string, f browser.Form) ceremony {
	t.Helper()
	body := url.Values{}
	for _, k := range []string{"csrf", "pending", "auth"} {
		if v := f.Fields.Get(k); v != "" {
			body.Set(k, v)
		}
	}
	u, _ := page.URL.Parse(path)
	res, err := b.Client.PostForm(u.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("begin %s: %d %s", path, res.StatusCode, raw)
	}
	var c ceremony
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// passkeyForm finds the page's form with the id.
func passkeyForm(t *testing.T, page *browser.Page, id string) browser.Form {
	t.Helper()
	forms, err := page.Forms()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.Body, `id="`+id+`"`) {
		t.Fatalf("no form %s on %s: %d %.800s", id, page.URL, page.Status, page.Body)
	}
	for _, f := range forms {
		if _, ok := f.Fields["ceremony"]; ok {
			return f
		}
	}
	t.Fatalf("no passkey form on %s", page.URL)
	return browser.Form{}
}

// register adds the key's passkey on the account's passkeys page.
func (k *softKey) register(t *testing.T, b *browser.Browser, s *testServer, name string) *browser.Page {
	t.Helper()
	page, err := b.Get(s.URL + "/account/passkeys")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'self';") || !strings.Contains(page.Body, `<script src="/static/passkeys.`) {
		t.Fatalf("the page does not load its script from the server: %q", page.Header.Get("Content-Security-Policy"))
	}
	f := passkeyForm(t, page, "passkey-register")
	c := begin(t, b, page, "/account/passkeys/begin", f)
	opts, err := virtualwebauthn.ParseAttestationOptions(string(c.Options))
	if err != nil {
		t.Fatal(err)
	}
	resp := virtualwebauthn.CreateAttestationResponse(k.rp, k.auth, k.cred, *opts)
	k.auth.AddCredential(k.cred)
	next, err := b.Submit(f, url.Values{"ceremony": {c.ID}, "response": {resp}, "name": {name}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// registerPast registers the key's passkey and, when it brought the
// customer's first recovery codes, goes on past them to the passkeys page.
func (k *softKey) registerPast(t *testing.T, b *browser.Browser, s *testServer, name string) *browser.Page {
	t.Helper()
	page := k.register(t, b, s, name)
	if strings.Contains(page.Body, `id="recovery-codes"`) {
		_, page = recoveryCodes(t, b, page)
	}
	return page
}

// assert answers an assertion's options with the key.
func (k *softKey) assert(t *testing.T, c ceremony) string {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(c.Options))
	if err != nil {
		t.Fatal(err)
	}
	return virtualwebauthn.CreateAssertionResponse(k.rp, k.auth, k.cred, *opts)
}

func TestPasskeys(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, _ := startMFAServer(t, db.URL, onLocalhost)
		aliceID := createAlice(t, s)
		home := browser.New(s.URL)
		page, err := home.Get(s.URL + "/account/login")
		if err != nil {
			t.Fatal(err)
		}
		form, err := page.FormWith("password")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := home.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", ""); err != nil {
			t.Fatal(err)
		}
		laptop := newSoftKey(s, aliceID, false)
		phone := newSoftKey(s, aliceID, true)
		rp := newRelyingParty(t, s, webClient(true))

		t.Run("a customer registers several passkeys and names them", func(t *testing.T) {
			for _, k := range []struct {
				key  *softKey
				name string
			}{{laptop, "Work laptop"}, {phone, "Phone"}} {
				page := k.key.registerPast(t, home, s, k.name)
				if !strings.Contains(page.Body, `id="passkeys-notice"`) || !strings.Contains(page.Body, k.name) {
					t.Fatalf("after registering %s: %d %.1000s", k.name, page.Status, page.Body)
				}
			}
			list, err := s.Store().ListPasskeys(context.Background(), aliceID)
			if err != nil || len(list) != 2 || list[0].BackupEligible || !list[1].BackupEligible {
				t.Fatalf("passkeys %v %+v", err, list)
			}
			// Two passkeys, and the recovery codes the first one brought.
			evs := eventsOf(t, s, "user.mfa.enrolled", aliceID)
			if len(evs) != 3 || !strings.Contains(string(evs[0].Data), `"passkey"`) ||
				!strings.Contains(string(evs[1].Data), `"recovery_codes"`) || !strings.Contains(string(evs[2].Data), `"passkey"`) {
				t.Fatalf("user.mfa.enrolled: %+v", evs)
			}
		})

		t.Run("an answer to another ceremony is refused at registration", func(t *testing.T) {
			again := newSoftKey(s, aliceID, false)
			page, err := home.Get(s.URL + "/account/passkeys")
			if err != nil {
				t.Fatal(err)
			}
			f := passkeyForm(t, page, "passkey-register")
			c1 := begin(t, home, page, "/account/passkeys/begin", f)
			c2 := begin(t, home, page, "/account/passkeys/begin", f)
			opts, _ := virtualwebauthn.ParseAttestationOptions(string(c1.Options))
			resp := virtualwebauthn.CreateAttestationResponse(again.rp, again.auth, again.cred, *opts)
			next, err := home.Submit(f, url.Values{"ceremony": {c2.ID}, "response": {resp}, "name": {"Stolen"}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(next.Body, `id="passkeys-error"`) || strings.Contains(next.Body, "Stolen") {
				t.Fatalf("a mismatched challenge registered: %.600s", next.Body)
			}
		})

		signInWith := func(t *testing.T, k *softKey) (flow, *browser.Page, browser.Form, ceremony, string) {
			t.Helper()
			rp.browser = browser.New(s.URL)
			f := newFlow()
			page := rp.start(f)
			if !strings.Contains(page.Body, `autocomplete="username webauthn"`) {
				t.Fatal("the e-mail field does not offer passkey autofill")
			}
			form := passkeyForm(t, page, "passkey-login")
			c := begin(t, rp.browser, page, "/login/passkey/begin", form)
			return f, page, form, c, k.assert(t, c)
		}

		t.Run("a device-bound passkey alone signs in: amr hwk user, acr phr", func(t *testing.T) {
			before := sessionsOf(t, s, aliceID)
			f, _, form, c, resp := signInWith(t, laptop)
			next, err := rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "response": {resp}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			wantAuth(t, idClaims(t, rp, f, rp.callback(next)), []string{"hwk", "user"}, "phr")
			if sessionsOf(t, s, aliceID) != before+1 {
				t.Fatal("no session")
			}

			t.Run("the same answer again is refused", func(t *testing.T) {
				// The same browser, on the account's sign-in page.
				acct, err := rp.browser.Get(s.URL + "/account/login?reauth=1")
				if err != nil {
					t.Fatal(err)
				}
				replay, err := rp.browser.Submit(passkeyForm(t, acct, "passkey-login"), url.Values{"ceremony": {c.ID}, "response": {resp}}, "", "")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(replay.Body, `id="login-error"`) {
					t.Fatalf("a replayed assertion: %d %s %.400s", replay.Status, replay.Location, replay.Body)
				}
				if sessionsOf(t, s, aliceID) != before+1 {
					t.Fatal("a replayed assertion started a session")
				}
			})
		})

		t.Run("a synced passkey alone signs in: amr swk user, acr phr", func(t *testing.T) {
			f, _, form, c, resp := signInWith(t, phone)
			next, err := rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "response": {resp}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			wantAuth(t, idClaims(t, rp, f, rp.callback(next)), []string{"swk", "user"}, "phr")
			list, _ := s.Store().ListPasskeys(context.Background(), aliceID)
			if list[1].LastUsedAt.IsZero() {
				t.Fatal("the last use is not recorded")
			}
			acct, err := home.Get(s.URL + "/account/passkeys")
			if err != nil || !strings.Contains(acct.Body, "Last used") {
				t.Fatalf("the account page does not show the last use: %.600s", acct.Body)
			}
		})

		t.Run("an answer from another browser's ceremony is refused", func(t *testing.T) {
			_, _, _, c, resp := signInWith(t, laptop)
			other := browser.New(s.URL)
			op, err := other.Get(s.URL + "/account/login")
			if err != nil {
				t.Fatal(err)
			}
			form := passkeyForm(t, op, "passkey-login")
			next, err := other.Submit(form, url.Values{"ceremony": {c.ID}, "response": {resp}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(next.Body, `id="login-error"`) {
				t.Fatalf("another browser's ceremony: %d %.400s", next.Status, next.Body)
			}
		})

		t.Run("a cloned authenticator (counter going backwards) is refused and logged", func(t *testing.T) {
			laptop.cred.Counter = 5
			f, _, form, c, resp := signInWith(t, laptop)
			next, err := rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "response": {resp}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			wantAuth(t, idClaims(t, rp, f, rp.callback(next)), []string{"hwk", "user"}, "phr")
			clone := *laptop
			clone.cred.Counter = 3
			_, _, form, c, resp = signInWith(t, &clone)
			next, err = rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "response": {resp}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(next.Body, `id="login-error"`) {
				t.Fatalf("a cloned authenticator signed in: %d %s", next.Status, next.Location)
			}
			if !strings.Contains(s.logs.String(), "signature counter went backwards") {
				t.Fatal("the clone is not logged")
			}
			got, _ := s.Store().GetPasskey(context.Background(), s.passkeyID(t, aliceID, 0))
			if got.SignCount != 5 {
				t.Fatalf("the stored counter moved to %d", got.SignCount)
			}
		})

		t.Run("a passkey as the second factor after a password: amr pwd hwk user mfa, acr 2", func(t *testing.T) {
			laptop.cred.Counter = 6
			rp.browser = browser.New(s.URL)
			f := newFlow()
			page := rp.login(rp.start(f), "alice@example.com", alicePassword)
			form := passkeyForm(t, page, "passkey-second")
			c := begin(t, rp.browser, page, "/login/mfa/passkey/begin", form)
			resp := laptop.assert(t, c)
			next, err := rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "code": {resp}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			wantAuth(t, idClaims(t, rp, f, rp.callback(next)), []string{"pwd", "hwk", "user", "mfa"}, "2")

			t.Run("and again with the same answer is refused", func(t *testing.T) {
				rp.browser = browser.New(s.URL)
				page := rp.login(rp.start(newFlow()), "alice@example.com", alicePassword)
				form := passkeyForm(t, page, "passkey-second")
				again, err := rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "code": {resp}}, "", "")
				if err != nil {
					t.Fatal(err)
				}
				if again.Status != http.StatusUnauthorized {
					t.Fatalf("a replayed second factor: %d %s", again.Status, again.Location)
				}
			})
		})

		t.Run("acr_values=phr is met by a passkey", func(t *testing.T) {
			laptop.cred.Counter = 7
			rp.browser = browser.New(s.URL)
			f := newFlow()
			page := rp.start(f, oauth2.SetAuthURLParam("acr_values", "phr"))
			form := passkeyForm(t, page, "passkey-login")
			c := begin(t, rp.browser, page, "/login/passkey/begin", form)
			next, err := rp.browser.Submit(form, url.Values{"ceremony": {c.ID}, "response": {laptop.assert(t, c)}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			wantAuth(t, idClaims(t, rp, f, rp.callback(next)), []string{"hwk", "user"}, "phr")
		})

		t.Run("removing a passkey records user.mfa.removed", func(t *testing.T) {
			page, err := home.Get(s.URL + "/account/passkeys")
			if err != nil {
				t.Fatal(err)
			}
			forms, _ := page.Forms()
			id := s.passkeyID(t, aliceID, 1)
			for _, f := range forms {
				if f.Fields.Get("id") == id && !strings.HasSuffix(f.Action, "/rename") {
					if page, err = home.Submit(f, nil, "", ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			if strings.Contains(page.Body, "Phone") || !strings.Contains(page.Body, "Work laptop") {
				t.Fatalf("after removing: %.800s", page.Body)
			}
			if evs := eventsOf(t, s, "user.mfa.removed", aliceID); len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"passkey"`) {
				t.Fatalf("user.mfa.removed: %+v", evs)
			}
		})

		t.Run("an operator's reset removes the passkeys", func(t *testing.T) {
			token := adminToken(t, s)
			adminCall(t, s, http.MethodDelete, "/customers/"+aliceID+"/mfa", token, nil).want(t, http.StatusNoContent)
			if list, _ := s.Store().ListPasskeys(context.Background(), aliceID); len(list) != 0 {
				t.Fatalf("passkeys after a reset: %+v", list)
			}
			rp.browser = browser.New(s.URL)
			f := newFlow()
			wantAuth(t, idClaims(t, rp, f, rp.callback(rp.login(rp.start(f), "alice@example.com", alicePassword))), []string{"pwd"}, "1")
		})
	})
}

// passkeyID is the ID of the customer's i-th passkey.
func (s *testServer) passkeyID(t *testing.T, userID string, i int) string {
	t.Helper()
	list, err := s.Store().ListPasskeys(context.Background(), userID)
	if err != nil || len(list) <= i {
		t.Fatalf("passkeys: %v %+v", err, list)
	}
	return list[i].ID
}

func TestPasskeysOffOnAnIPIssuer(t *testing.T) {
	s, _ := startMFAServer(t, gormstoretest.SQLiteURL(t), nil)
	if !strings.Contains(s.URL, "127.0.0.1") {
		t.Fatalf("issuer %s", s.URL)
	}
	if !strings.Contains(s.logs.String(), "passkeys are off: the issuer is on an IP address") {
		t.Fatal("the start-up log does not say passkeys are off")
	}
	b := browser.New(s.URL)
	page, err := b.Get(s.URL + "/account/login")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := page.FormWith("password"); err != nil || strings.Contains(page.Body, "passkey-login") || strings.Contains(page.Body, "webauthn") {
		t.Fatalf("the sign-in page offers passkeys on an IP issuer: %.600s", page.Body)
	}
	res, err := b.Client.PostForm(s.URL+"/login/passkey/begin", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("the passkey endpoint answers %d on an IP issuer", res.StatusCode)
	}
}
