package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// testClock is the time second-factor codes are checked against, moved
// by the test from one 30-second step to the next.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// nextStep moves the clock a whole step on, so the next code is new.
func (c *testClock) nextStep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(30 * time.Second)
}

func startMFAServer(t *testing.T, databaseURL string, change func(*config.Config)) (*testServer, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Now().Truncate(30 * time.Second).Add(15 * time.Second)}
	return startServerWith(t, databaseURL, change, server.WithMFAClock(clock.Now)), clock
}

// totpCode is what an authenticator app with the key shows at the time.
func totpCode(t *testing.T, key string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(key, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	secretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	qrRE       = regexp.MustCompile(`<img src="([^"]+)"`)
	recoveryRE = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
	continueRE = regexp.MustCompile(`id="recovery-continue" href="([^"]+)"`)
)

// enrolPage reads an enrolment page: it checks the QR code is an image
// served by the server itself, and returns the key.
func enrolPage(t *testing.T, b *browser.Browser, page *browser.Page) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(page.Body)
	q := qrRE.FindStringSubmatch(page.Body)
	if m == nil || q == nil {
		t.Fatalf("not an enrolment page: %d %.800s", page.Status, page.Body)
	}
	if !strings.Contains(page.Header.Get("Content-Security-Policy"), "img-src 'self'") {
		t.Errorf("CSP %q", page.Header.Get("Content-Security-Policy"))
	}
	src, err := page.URL.Parse(strings.ReplaceAll(q[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	if src.Host != page.URL.Host {
		t.Fatalf("the QR code comes from %s", src)
	}
	img, err := b.Get(src.String())
	if err != nil {
		t.Fatal(err)
	}
	if img.Status != http.StatusOK || img.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(img.Body, "\x89PNG") {
		t.Fatalf("QR code: %d %s", img.Status, img.Header.Get("Content-Type"))
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// submitCode posts the page's form that has a code field and the method.
func submitCode(t *testing.T, b *browser.Browser, page *browser.Page, method, code string) *browser.Page {
	t.Helper()
	forms, err := page.Forms()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if _, ok := f.Fields["code"]; !ok {
			continue
		}
		if m := f.Fields.Get("method"); method != "" && m != method {
			continue
		}
		next, err := b.Submit(f, url.Values{"code": {code}}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	t.Fatalf("no code form for %q: %d %.800s", method, page.Status, page.Body)
	return nil
}

// recoveryCodes reads the recovery codes page and follows its link on.
func recoveryCodes(t *testing.T, b *browser.Browser, page *browser.Page) ([]string, *browser.Page) {
	t.Helper()
	var codes []string
	for _, m := range recoveryRE.FindAllStringSubmatch(page.Body, -1) {
		codes = append(codes, m[1])
	}
	c := continueRE.FindStringSubmatch(page.Body)
	if len(codes) != 10 || c == nil {
		t.Fatalf("recovery codes page: %d %.800s", page.Status, page.Body)
	}
	next, err := page.URL.Parse(strings.ReplaceAll(c[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Get(next.String())
	if err != nil {
		t.Fatal(err)
	}
	return codes, p
}

// enrolFromAccount signs in on the account page with the password and
// enrols an authenticator app there; it returns the key and the codes.
func enrolFromAccount(t *testing.T, s *testServer, b *browser.Browser, clock *testClock) (string, []string) {
	t.Helper()
	page, err := b.Get(s.URL + "/account/login")
	if err != nil {
		t.Fatal(err)
	}
	form, err := page.FormWith("password")
	if err != nil {
		t.Fatal(err)
	}
	if page, err = b.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.Body, `id="mfa-enrol"`) {
		t.Fatalf("the account page offers no enrolment: %.800s", page.Body)
	}
	if page, err = b.Get(s.URL + "/account/mfa"); err != nil {
		t.Fatal(err)
	}
	key := enrolPage(t, b, page)
	if wrong := submitCode(t, b, page, "", totpCode(t, key, clock.Now().Add(5*time.Minute))); wrong.Status != http.StatusUnauthorized {
		t.Fatalf("a wrong first code: %d", wrong.Status)
	}
	codes, page := recoveryCodes(t, b, submitCode(t, b, page, "", totpCode(t, key, clock.Now())))
	if !strings.Contains(page.Body, "recovery-left") {
		t.Fatalf("the account page does not show the second factor: %.800s", page.Body)
	}
	return key, codes
}

// idClaims exchanges the callback's code and returns the ID token's claims.
func idClaims(t *testing.T, rp *relyingParty, f flow, cb url.Values) map[string]any {
	t.Helper()
	if cb.Get("code") == "" {
		t.Fatalf("callback = %v", cb)
	}
	_, idt := rp.exchange(f, cb.Get("code"))
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func wantAuth(t *testing.T, claims map[string]any, amr []string, class string) {
	t.Helper()
	var got []string
	for _, v := range claims["amr"].([]any) {
		got = append(got, v.(string))
	}
	if !slices.Equal(got, amr) || claims["acr"] != class {
		t.Fatalf("amr %v acr %v, want %v %s", got, claims["acr"], amr, class)
	}
}

func sessionsOf(t *testing.T, s *testServer, userID string) int {
	t.Helper()
	ss, err := s.Store().ListSessionsByUser(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return len(ss)
}

func TestMFA(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, clock := startMFAServer(t, db.URL, nil)
		aliceID := createAlice(t, s)
		home := browser.New(s.URL)
		key, codes := enrolFromAccount(t, s, home, clock)
		rp := newRelyingParty(t, s, webClient(true))

		t.Run("discovery lists acr values weakest first", func(t *testing.T) {
			var md struct {
				ACR []string `json:"acr_values_supported"`
			}
			if err := rp.provider.Claims(&md); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(md.ACR, []string{"1", "2", "phr"}) {
				t.Fatalf("acr_values_supported = %v", md.ACR)
			}
		})

		t.Run("password then TOTP: amr pwd otp mfa, acr 2", func(t *testing.T) {
			clock.nextStep()
			rp.browser = browser.New(s.URL)
			f := newFlow()
			before := sessionsOf(t, s, aliceID)
			page := rp.login(rp.start(f), "alice@example.com", alicePassword)
			if sessionsOf(t, s, aliceID) != before {
				t.Fatal("the password alone started a session")
			}
			if wrong := submitCode(t, rp.browser, page, "totp", totpCode(t, key, clock.Now().Add(-time.Minute))); wrong.Status != http.StatusUnauthorized {
				t.Fatalf("a code two steps old: %d", wrong.Status)
			}
			cb := rp.callback(submitCode(t, rp.browser, page, "totp", totpCode(t, key, clock.Now())))
			wantAuth(t, idClaims(t, rp, f, cb), []string{"pwd", "otp", "mfa"}, "2")
			if sessionsOf(t, s, aliceID) != before+1 {
				t.Fatal("no session after the second factor")
			}
		})

		t.Run("a used code is refused", func(t *testing.T) {
			b := browser.New(s.URL)
			rp.browser = b
			page := rp.login(rp.start(newFlow()), "alice@example.com", alicePassword)
			if again := submitCode(t, b, page, "totp", totpCode(t, key, clock.Now())); again.Status != http.StatusUnauthorized {
				t.Fatalf("a replayed code: %d %.300s", again.Status, again.Body)
			}
		})

		t.Run("an abandoned second step leaves no session", func(t *testing.T) {
			b := browser.New(s.URL)
			rp.browser = b
			before := sessionsOf(t, s, aliceID)
			page := rp.login(rp.start(newFlow()), "alice@example.com", alicePassword)
			if _, err := page.FormWith("code"); err != nil {
				t.Fatalf("no second-factor page: %.500s", page.Body)
			}
			acct, err := b.Get(s.URL + "/account")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := acct.FormWith("password"); err != nil || sessionsOf(t, s, aliceID) != before {
				t.Fatalf("the browser is signed in after only the password: %d %.300s", acct.Status, acct.Body)
			}
		})

		t.Run("a recovery code signs in once", func(t *testing.T) {
			for i, want := range []int{http.StatusSeeOther, http.StatusUnauthorized} {
				b := browser.New(s.URL)
				rp.browser = b
				f := newFlow()
				page := submitCode(t, b, rp.login(rp.start(f), "alice@example.com", alicePassword), "recovery_code", strings.ToUpper(codes[0]))
				if want == http.StatusUnauthorized {
					if page.Status != want {
						t.Fatalf("use %d of one recovery code: %d", i+1, page.Status)
					}
					continue
				}
				wantAuth(t, idClaims(t, rp, f, rp.callback(page)), []string{"pwd", "otp", "mfa"}, "2")
			}
			if !strings.Contains(s.logs.String(), "a recovery code was used") || strings.Contains(s.logs.String(), codes[0]) {
				t.Error("the use is not logged, or the log holds the code")
			}
		})

		t.Run("step-up: a password session meets acr_values=2 with only the TOTP", func(t *testing.T) {
			// home signed in with the password before enrolling: acr 1.
			clock.nextStep()
			rp.browser = home
			f := newFlow()
			page := rp.start(f, oauth2.SetAuthURLParam("acr_values", "2"))
			if _, err := page.FormWith("password"); err == nil {
				t.Fatal("the password was asked again")
			}
			cb := rp.callback(submitCode(t, home, page, "totp", totpCode(t, key, clock.Now())))
			claims := idClaims(t, rp, f, cb)
			wantAuth(t, claims, []string{"pwd", "otp", "mfa"}, "2")
			t.Run("the session is kept, and a later request needs nothing", func(t *testing.T) {
				f2 := newFlow()
				claims2 := idClaims(t, rp, f2, rp.callback(rp.start(f2, oauth2.SetAuthURLParam("acr_values", "2"))))
				if claims2["sid"] != claims["sid"] || claims2["acr"] != "2" {
					t.Fatalf("sid %v then %v, acr %v", claims["sid"], claims2["sid"], claims2["acr"])
				}
			})
			t.Run("acr_values=1 on a two-factor session says 1", func(t *testing.T) {
				f3 := newFlow()
				claims3 := idClaims(t, rp, f3, rp.callback(rp.start(f3, oauth2.SetAuthURLParam("acr_values", "1"))))
				if claims3["acr"] != "1" {
					t.Fatalf("acr %v", claims3["acr"])
				}
			})
		})

		t.Run("an essential acr that cannot be met is unmet_authentication_requirements", func(t *testing.T) {
			rp.browser = browser.New(s.URL)
			f := newFlow()
			cb := rp.callback(rp.start(f, oauth2.SetAuthURLParam("claims", `{"id_token":{"acr":{"essential":true,"value":"phr"}}}`)))
			if cb.Get("error") != "unmet_authentication_requirements" || cb.Get("state") != f.state {
				t.Fatalf("callback = %v", cb)
			}
			cb = rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("acr_values", "urn:example:gold")))
			if cb.Get("error") != "unmet_authentication_requirements" {
				t.Fatalf("an unknown acr_values: %v", cb)
			}
		})

		t.Run("wrong codes are throttled", func(t *testing.T) {
			b := browser.New(s.URL)
			rp.browser = b
			page := rp.login(rp.start(newFlow()), "alice@example.com", alicePassword)
			var last *browser.Page
			for range 10 {
				if last = submitCode(t, b, page, "totp", "000000"); last.Status == http.StatusTooManyRequests {
					break
				}
			}
			if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
				t.Fatalf("after wrong codes: %d", last.Status)
			}
			clock.nextStep()
			if right := submitCode(t, b, page, "totp", totpCode(t, key, clock.Now())); right.Status != http.StatusTooManyRequests {
				t.Fatalf("the right code while throttled: %d", right.Status)
			}
		})

		t.Run("an operator's reset removes the second factor", func(t *testing.T) {
			token := adminToken(t, s)
			adminCall(t, s, http.MethodDelete, "/customers/"+aliceID+"/mfa", token, nil).want(t, http.StatusNoContent)
			rp.browser = browser.New(s.URL)
			f := newFlow()
			cb := rp.callback(rp.login(rp.start(f), "alice@example.com", alicePassword))
			wantAuth(t, idClaims(t, rp, f, cb), []string{"pwd"}, "1")
			evs, err := s.Store().ListEvents(context.Background(), storage.EventFilter{Type: "user.mfa.removed"}, storage.Page{})
			if err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"reset"`) {
				t.Fatalf("user.mfa.removed: %v %+v", err, evs)
			}
		})
	})
}

func TestMFARequiredPolicyWalksEnrolment(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, clock := startMFAServer(t, db.URL, func(c *config.Config) { c.MFAPolicy = "required" })
		aliceID := createAlice(t, s)
		rp := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		page := rp.login(rp.start(f), "alice@example.com", alicePassword)
		if sessionsOf(t, s, aliceID) != 0 {
			t.Fatal("a session before enrolment")
		}
		key := enrolPage(t, rp.browser, page)
		_, next := recoveryCodes(t, rp.browser, submitCode(t, rp.browser, page, "", totpCode(t, key, clock.Now())))
		wantAuth(t, idClaims(t, rp, f, rp.callback(next)), []string{"pwd", "otp", "mfa"}, "2")
	})
}

func TestClientRequireMFA(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, clock := startMFAServer(t, db.URL, nil)
		createAlice(t, s)
		plain := newRelyingParty(t, s, webClient(true))
		f := newFlow()
		wantAuth(t, idClaims(t, plain, f, rp0(t, plain, f)), []string{"pwd"}, "1")

		spec := webClient(true)
		spec.RequireMFA = true
		strict := newRelyingParty(t, s, spec)
		strict.browser = plain.browser // signed in with the password: step-up, with enrolment
		f = newFlow()
		page := strict.start(f)
		if _, err := page.FormWith("password"); err == nil {
			t.Fatal("the password was asked again")
		}
		key := enrolPage(t, strict.browser, page)
		_, next := recoveryCodes(t, strict.browser, submitCode(t, strict.browser, page, "", totpCode(t, key, clock.Now())))
		wantAuth(t, idClaims(t, strict, f, strict.callback(next)), []string{"pwd", "otp", "mfa"}, "2")
	})
}

// rp0 signs in with the password alone and returns the callback.
func rp0(t *testing.T, rp *relyingParty, f flow) url.Values {
	t.Helper()
	return rp.callback(rp.login(rp.start(f), "alice@example.com", alicePassword))
}

// postAccountForm posts the account page's form whose action ends with
// action.
func postAccountForm(t *testing.T, b *browser.Browser, s *testServer, action string) *browser.Page {
	t.Helper()
	page := accountPage(t, b, s)
	forms, err := page.Forms()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if strings.HasSuffix(f.Action, action) {
			next, err := b.Submit(f, nil, "", "")
			if err != nil {
				t.Fatal(err)
			}
			return next
		}
	}
	t.Fatalf("no form for %s on the account page: %.800s", action, page.Body)
	return nil
}

func TestSensitiveChangesNeedAFreshSignIn(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s, clock := startMFAServer(t, db.URL, nil)
		aliceID := createAlice(t, s)
		b := browser.New(s.URL)
		key, codes := enrolFromAccount(t, s, b, clock)
		ctx := context.Background()

		t.Run("new recovery codes right after signing in", func(t *testing.T) {
			fresh, _ := recoveryCodes(t, b, postAccountForm(t, b, s, "/account/mfa/recovery"))
			if slices.Contains(fresh, codes[0]) {
				t.Fatal("the old codes came back")
			}
			if n, _ := s.Store().CountRecoveryCodes(ctx, aliceID); n != 10 {
				t.Fatalf("%d codes stored", n)
			}
		})

		// The session signed in an hour ago.
		ss, err := s.Store().ListSessionsByUser(ctx, aliceID)
		if err != nil {
			t.Fatal(err)
		}
		for _, bs := range ss {
			if err := s.Store().StepUpSession(ctx, bs.ID, time.Now().Add(-time.Hour), bs.AMR, bs.ACR); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("an old sign-in is sent to sign in again", func(t *testing.T) {
			for _, action := range []string{"/account/mfa/remove", "/account/mfa/recovery"} {
				page := postAccountForm(t, b, s, action)
				if _, err := page.FormWith("password"); err != nil || !strings.Contains(page.URL.String(), "reauth=1") {
					t.Fatalf("%s with an old sign-in: %s %.400s", action, page.URL, page.Body)
				}
			}
			if u, _ := s.Store().GetUser(ctx, aliceID); !u.MFA {
				t.Fatal("removed without a fresh sign-in")
			}
		})

		t.Run("after signing in again with both factors, the removal goes ahead", func(t *testing.T) {
			page, err := b.Get(s.URL + "/account/login?reauth=1")
			if err != nil {
				t.Fatal(err)
			}
			form, err := page.FormWith("password")
			if err != nil {
				t.Fatal(err)
			}
			page, err = b.Submit(form, url.Values{"email": {"alice@example.com"}, "password": {alicePassword}}, "", "")
			if err != nil {
				t.Fatal(err)
			}
			clock.nextStep()
			submitCode(t, b, page, "totp", totpCode(t, key, clock.Now()))
			page = postAccountForm(t, b, s, "/account/mfa/remove")
			if !strings.Contains(page.URL.String(), "notice=mfa_removed") || !strings.Contains(page.Body, `id="mfa-enrol"`) {
				t.Fatalf("after removing: %s %.600s", page.URL, page.Body)
			}
			if u, _ := s.Store().GetUser(ctx, aliceID); u.MFA {
				t.Fatal("still enrolled")
			}
			evs, err := s.Store().ListEvents(ctx, storage.EventFilter{Type: "user.mfa.removed"}, storage.Page{})
			if err != nil || len(evs) != 1 || evs[0].Actor.ID != aliceID || !strings.Contains(string(evs[0].Data), `"customer"`) {
				t.Fatalf("user.mfa.removed: %v %+v", err, evs)
			}
		})
	})
}
