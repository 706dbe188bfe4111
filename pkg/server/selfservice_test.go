package server_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

const ninaPassword = "violet lantern orbit"

// selfServiceServer is a server that sends mail to an in-process SMTP
// server, with a clock for mailed links and codes.
type selfServiceServer struct {
	*testServer
	smtpd *mailtest.Server
	clock *testClock
	seen  int // mails read so far
}

func startSelfServiceServer(t *testing.T, databaseURL string, change func(*config.Config)) *selfServiceServer {
	t.Helper()
	smtpd := mailtest.Start(t, mailtest.Options{})
	clock := &testClock{now: time.Now()}
	s := startServerWith(t, databaseURL, func(c *config.Config) {
		c.SMTPHost, c.SMTPPort, c.SMTPTLS = smtpd.Host, int64(smtpd.Port), config.SMTPTLSNone
		c.SMTPFrom = "Gatehouse <no-reply@example.com>"
		if change != nil {
			change(c)
		}
	}, server.WithSelfServiceClock(clock.Now))
	return &selfServiceServer{testServer: s, smtpd: smtpd, clock: clock}
}

// nextMail runs the due jobs and returns the one new mail, to whom.
func (s *selfServiceServer) nextMail(t *testing.T, to string) mailtest.Received {
	t.Helper()
	s.Jobs().RunDue(context.Background())
	got := s.smtpd.Wait(t, s.seen+1)
	if len(got) != s.seen+1 {
		t.Fatalf("%d new mails, want 1", len(got)-s.seen)
	}
	m := got[s.seen]
	s.seen++
	if len(m.To) != 1 || m.To[0] != to {
		t.Fatalf("mail %q to %v, want %s", m.Subject, m.To, to)
	}
	return m
}

// noMail checks that no mail was sent since the last one read.
func (s *selfServiceServer) noMail(t *testing.T) {
	t.Helper()
	s.Jobs().RunDue(context.Background())
	if got := s.smtpd.Messages(); len(got) != s.seen {
		t.Fatalf("unexpected mail %q to %v", got[len(got)-1].Subject, got[len(got)-1].To)
	}
}

func (s *selfServiceServer) advance(d time.Duration) {
	s.clock.mu.Lock()
	defer s.clock.mu.Unlock()
	s.clock.now = s.clock.now.Add(d)
}

var (
	mailLinkRE = regexp.MustCompile(`https?://\S+\?token=[A-Za-z0-9_-]+`)
	mailCodeRE = regexp.MustCompile(`(?m)^\s+([0-9]{6})\s*$`)
	hiddenRE   = regexp.MustCompile(`name="(state|csrf|token)" value="[^"]*"`)
)

func mailLink(t *testing.T, m mailtest.Received) string {
	t.Helper()
	l := mailLinkRE.FindString(m.Text)
	if l == "" {
		t.Fatalf("no link in %q:\n%s", m.Subject, m.Text)
	}
	return l
}

func mailCode(t *testing.T, m mailtest.Received) string {
	t.Helper()
	c := mailCodeRE.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("no code in %q:\n%s", m.Subject, m.Text)
	}
	return c[1]
}

// linkOn follows the page's link whose path is path.
func linkOn(t *testing.T, b *browser.Browser, page *browser.Page, path string) *browser.Page {
	t.Helper()
	m := regexp.MustCompile(`href="(` + regexp.QuoteMeta(path) + `[^"]*)"`).FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no link to %s on %s: %.600s", path, page.URL, page.Body)
	}
	u, err := page.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	next, err := b.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// submit posts the page's form that has the field, with values set.
func submit(t *testing.T, b *browser.Browser, page *browser.Page, field string, set url.Values, button string) *browser.Page {
	t.Helper()
	form, err := page.FormWith(field)
	if err != nil {
		t.Fatal(err)
	}
	value := ""
	if button != "" {
		value = "1"
	}
	next, err := b.Submit(form, set, button, value)
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// signUp fills in the sign-up form.
func signUp(t *testing.T, b *browser.Browser, page *browser.Page, email string) *browser.Page {
	t.Helper()
	return submit(t, b, page, "password", url.Values{"email": {email}, "password": {ninaPassword}, "name": {"Nina Simone"}}, "")
}

// shape is a page's body without what differs from one answer to the
// next by design: the sealed state, the CSRF token and the email typed.
func shape(body, email string) string {
	return strings.ReplaceAll(hiddenRE.ReplaceAllString(body, `name="$1" value=""`), email, "EMAIL")
}

func TestSignUpConfirmedByCodeGoesBackToTheApp(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, nil)
		rp := newRelyingParty(t, s.testServer, webClient(true))
		f := newFlow()
		page := linkOn(t, rp.browser, rp.start(f), "/signup?")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "Photo Album") {
			t.Fatalf("sign-up page %d: %.600s", page.Status, page.Body)
		}
		page = signUp(t, rp.browser, page, "nina@example.com")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="check-email-lede"`) {
			t.Fatalf("after sign-up %d: %.600s", page.Status, page.Body)
		}
		m := s.nextMail(t, "nina@example.com")
		if m.Subject != "Confirm your email address" {
			t.Fatalf("subject %q", m.Subject)
		}
		code, link := mailCode(t, m), mailLink(t, m)
		if logs := s.logs.String(); strings.Contains(logs, code) || strings.Contains(logs, link) || strings.Contains(logs, ninaPassword) {
			t.Error("the log holds the code, the link or the password")
		}

		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if got := submit(t, rp.browser, page, "code", url.Values{"code": {wrong}}, ""); got.Status != http.StatusUnauthorized {
			t.Fatalf("wrong code: %d", got.Status)
		}
		tok, idt := rp.exchange(f, rp.callback(submit(t, rp.browser, page, "code", url.Values{"code": {code}}, "")).Get("code"))
		var claims map[string]any
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		wantAuth(t, claims, []string{"pwd"}, "1")
		if info := userinfo(t, rp, tok); info["email"] != "nina@example.com" || info["email_verified"] != true || info["name"] != "Nina Simone" {
			t.Fatalf("userinfo %v", info)
		}

		t.Run("a used code is refused", func(t *testing.T) {
			if got := submit(t, rp.browser, page, "code", url.Values{"code": {code}}, ""); got.Status != http.StatusUnauthorized {
				t.Fatalf("reused code: %d", got.Status)
			}
		})
		t.Run("the link of a mail whose code was used is refused", func(t *testing.T) {
			got, err := rp.browser.Get(link)
			if err != nil || got.Status != http.StatusBadRequest || !strings.Contains(got.Body, `id="verify-invalid"`) {
				t.Fatalf("link: %v %d", err, got.Status)
			}
		})
	})
}

func TestSignUpConfirmedByLinkOnceAndNotAfterExpiry(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, nil)
		b := browser.New(s.URL)
		form, err := b.Get(s.URL + "/signup")
		if err != nil || form.Status != http.StatusOK {
			t.Fatalf("GET /signup: %v", err)
		}
		signUp(t, b, form, "nina@example.com")
		link := mailLink(t, s.nextMail(t, "nina@example.com"))

		// Opening the link confirms nothing: a mail scanner may open it.
		confirm, err := browser.New(s.URL).Get(link)
		if err != nil || confirm.Status != http.StatusOK {
			t.Fatalf("link: %v %d", err, confirm.Status)
		}
		u, err := s.Store().GetUserByEmail(context.Background(), "nina@example.com")
		if err != nil || u.EmailVerified {
			t.Fatalf("verified by a GET: %+v %v", u, err)
		}
		other := browser.New(s.URL)
		confirm, _ = other.Get(link)
		done := submit(t, other, confirm, "token", nil, "")
		if done.Status != http.StatusOK || !strings.Contains(done.Body, `id="verify-done"`) {
			t.Fatalf("confirm: %d %.400s", done.Status, done.Body)
		}
		if u, _ := s.Store().GetUserByEmail(context.Background(), "nina@example.com"); !u.EmailVerified {
			t.Fatal("not verified")
		}
		t.Run("a used link is refused", func(t *testing.T) {
			if again := submit(t, other, confirm, "token", nil, ""); again.Status != http.StatusBadRequest || !strings.Contains(again.Body, `id="verify-invalid"`) {
				t.Fatalf("reused link: %d", again.Status)
			}
		})
		t.Run("an expired link and code are refused", func(t *testing.T) {
			page := signUp(t, b, form, "omar@example.com")
			m := s.nextMail(t, "omar@example.com")
			s.advance(24*time.Hour + time.Minute)
			if got, _ := b.Get(mailLink(t, m)); got.Status != http.StatusBadRequest {
				t.Fatalf("expired link: %d", got.Status)
			}
			if got := submit(t, b, page, "code", url.Values{"code": {mailCode(t, m)}}, ""); got.Status != http.StatusBadRequest && got.Status != http.StatusUnauthorized {
				t.Fatalf("expired code: %d", got.Status)
			}
			if u, _ := s.Store().GetUserByEmail(context.Background(), "omar@example.com"); u.EmailVerified {
				t.Fatal("verified after expiry")
			}
		})
	})
}

func TestSignUpAndResetAnswerAlikeForKnownAndUnknownEmails(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, nil)
		createAlice(t, s.testServer)
		b := browser.New(s.URL)
		form, _ := b.Get(s.URL + "/signup")
		known := signUp(t, b, form, "alice@example.com")
		m := s.nextMail(t, "alice@example.com")
		if m.Subject != "Someone tried to sign up with your email" || !strings.Contains(m.Text, "/reset") {
			t.Fatalf("mail to the owner: %q\n%s", m.Subject, m.Text)
		}
		unknown := signUp(t, b, form, "zoe@example.com")
		s.nextMail(t, "zoe@example.com")
		if known.Status != unknown.Status || shape(known.Body, "alice@example.com") != shape(unknown.Body, "zoe@example.com") {
			t.Fatalf("sign-up answers differ: %d %d\n%s\n---\n%s", known.Status, unknown.Status, known.Body, unknown.Body)
		}
		if u, _ := s.Store().GetUserByEmail(context.Background(), "alice@example.com"); u.Name != "Alice Liddell" {
			t.Fatalf("the existing customer changed: %+v", u)
		}
		// A taken email's state has no code to match.
		if got := submit(t, b, known, "code", url.Values{"code": {"123456"}}, ""); got.Status != http.StatusUnauthorized {
			t.Fatalf("code for a taken email: %d", got.Status)
		}

		reset, _ := b.Get(s.URL + "/reset")
		knownReset := submit(t, b, reset, "email", url.Values{"email": {"alice@example.com"}}, "")
		s.nextMail(t, "alice@example.com")
		unknownReset := submit(t, b, reset, "email", url.Values{"email": {"nobody@example.com"}}, "")
		s.noMail(t)
		if knownReset.Status != http.StatusOK || knownReset.Status != unknownReset.Status ||
			shape(knownReset.Body, "alice@example.com") != shape(unknownReset.Body, "nobody@example.com") {
			t.Fatalf("reset answers differ: %d %d", knownReset.Status, unknownReset.Status)
		}
	})
}

func TestPasswordResetRevokesSessionsAndTokens(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, nil)
		aliceID := createAlice(t, s.testServer)
		rp := newRelyingParty(t, s.testServer, webClient(true))
		f := newFlow()
		tok, _ := rp.exchange(f, rp.signIn(f).Get("code"))
		if tok.RefreshToken == "" || sessionsOf(t, s.testServer, aliceID) != 1 {
			t.Fatal("no refresh token or session")
		}

		// Another browser asks for the link from the sign-in page.
		other := newRelyingParty(t, s.testServer, webClient(true))
		of := newFlow()
		request := linkOn(t, other.browser, other.start(of), "/reset?")
		submit(t, other.browser, request, "email", url.Values{"email": {"alice@example.com"}}, "")
		m := s.nextMail(t, "alice@example.com")
		if m.Subject != "Reset your password" || !strings.Contains(m.Text, "30 min") {
			t.Fatalf("reset mail %q:\n%s", m.Subject, m.Text)
		}
		form, err := other.browser.Get(mailLink(t, m))
		if err != nil || form.Status != http.StatusOK {
			t.Fatalf("reset page: %v", err)
		}
		weak := submit(t, other.browser, form, "password", url.Values{"password": {"password"}}, "")
		if weak.Status != http.StatusBadRequest || !strings.Contains(weak.Body, "too common") {
			t.Fatalf("weak password: %d %.300s", weak.Status, weak.Body)
		}
		// The policy's refusal left the link working.
		const newPassword = "amber comet harbour"
		claims := idClaims(t, other, of, other.callback(submit(t, other.browser, form, "password", url.Values{"password": {newPassword}}, "")))
		if claims["sub"] != aliceID {
			t.Fatalf("claims %v", claims)
		}
		if changed := s.nextMail(t, "alice@example.com"); changed.Subject != "Your password was changed" {
			t.Fatalf("mail %q", changed.Subject)
		}

		if _, err := rp.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("the refresh token from before the reset still works")
		}
		if active(t, s.testServer, rp, tok.AccessToken) {
			t.Error("the access token from before the reset is active")
		}
		if page := rp.start(newFlow()); page.Status != http.StatusOK || !strings.Contains(page.Body, `name="password"`) {
			t.Errorf("the first browser is still signed in: %d", page.Status)
		}
		if sessionsOf(t, s.testServer, aliceID) != 1 {
			t.Errorf("sessions: %d, want only the new one", sessionsOf(t, s.testServer, aliceID))
		}
		if _, err := s.Services().Identity.Authenticate(context.Background(), "alice@example.com", alicePassword); err == nil {
			t.Error("the old password still works")
		}
		t.Run("a used link is refused", func(t *testing.T) {
			if again := submit(t, other.browser, form, "password", url.Values{"password": {"another fine sentence"}}, ""); again.Status != http.StatusBadRequest || !strings.Contains(again.Body, `id="reset-invalid"`) {
				t.Fatalf("reused link: %d", again.Status)
			}
		})
		t.Run("an expired link is refused", func(t *testing.T) {
			submit(t, other.browser, request, "email", url.Values{"email": {"alice@example.com"}}, "")
			link := mailLink(t, s.nextMail(t, "alice@example.com"))
			s.advance(31 * time.Minute)
			if got, _ := other.browser.Get(link); got.Status != http.StatusBadRequest {
				t.Fatalf("expired link: %d", got.Status)
			}
		})
	})
}

func TestEmailCodeSignIn(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, func(c *config.Config) { c.EmailCodeSignIn, c.NewDeviceAlert = true, true })
		aliceID := createAlice(t, s.testServer)
		rp := newRelyingParty(t, s.testServer, webClient(true))
		f := newFlow()
		page := linkOn(t, rp.browser, rp.start(f), "/login/code?")
		unknown := submit(t, rp.browser, page, "email", url.Values{"email": {"nobody@example.com"}}, "send")
		s.noMail(t)
		codePage := submit(t, rp.browser, page, "email", url.Values{"email": {"alice@example.com"}}, "send")
		if codePage.Status != http.StatusOK || shape(unknown.Body, "nobody@example.com") != shape(codePage.Body, "alice@example.com") {
			t.Fatalf("code requests answer differently: %d %d", unknown.Status, codePage.Status)
		}
		m := s.nextMail(t, "alice@example.com")
		if m.Subject != "Your one-time code" {
			t.Fatalf("subject %q", m.Subject)
		}
		code := mailCode(t, m)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if got := submit(t, rp.browser, codePage, "code", url.Values{"code": {wrong}}, ""); got.Status != http.StatusUnauthorized {
			t.Fatalf("wrong code: %d", got.Status)
		}
		claims := idClaims(t, rp, f, rp.callback(submit(t, rp.browser, codePage, "code", url.Values{"code": {code}}, "")))
		if claims["sub"] != aliceID {
			t.Fatalf("claims %v", claims)
		}
		wantAuth(t, claims, []string{"otp"}, "1")
		if alert := s.nextMail(t, "alice@example.com"); alert.Subject != "New sign-in to your account" {
			t.Fatalf("alert %q", alert.Subject)
		}

		t.Run("a used code is refused", func(t *testing.T) {
			b := browser.New(s.URL)
			p, _ := b.Get(s.URL + "/login/code")
			p = submit(t, b, p, "email", url.Values{"email": {"alice@example.com"}}, "send")
			s.nextMail(t, "alice@example.com") // a new code; the old one is spent anyway
			if got := submit(t, b, p, "code", url.Values{"code": {code}}, ""); got.Status != http.StatusUnauthorized {
				t.Fatalf("reused code: %d", got.Status)
			}
		})
		t.Run("an unverified email gets no code", func(t *testing.T) {
			svc := identity.NewService(s.Store(), identity.OWASPMinimum, identity.PasswordPolicy{})
			if _, err := svc.Create(context.Background(), identity.NewUser{Email: "una@example.com", Password: "plum thunder canoe"}); err != nil {
				t.Fatal(err)
			}
			b := browser.New(s.URL)
			p, _ := b.Get(s.URL + "/login/code")
			submit(t, b, p, "email", url.Values{"email": {"una@example.com"}}, "send")
			s.noMail(t)
		})
	})
}

func TestPromptCreate(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startSelfServiceServer(t, db.URL, nil)
		if !discoveredPrompts(t, s.URL).contains("create") {
			t.Fatal("discovery does not list create")
		}
		rp := newRelyingParty(t, s.testServer, webClient(true))
		f := newFlow()
		page := rp.start(f, oauth2.SetAuthURLParam("prompt", "create"))
		if page.URL.Path != "/signup" || page.Status != http.StatusOK {
			t.Fatalf("prompt=create landed on %s (%d)", page.URL, page.Status)
		}
		page = signUp(t, rp.browser, page, "nina@example.com")
		code := mailCode(t, s.nextMail(t, "nina@example.com"))
		tok, _ := rp.exchange(f, rp.callback(submit(t, rp.browser, page, "code", url.Values{"code": {code}}, "")).Get("code"))
		if info := userinfo(t, rp, tok); info["email"] != "nina@example.com" || info["email_verified"] != true {
			t.Fatalf("userinfo %v", info)
		}
	})
	t.Run("sign-up off: not listed, and refused", func(t *testing.T) {
		s := startSelfServiceServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.SignUpEnabled = false })
		if discoveredPrompts(t, s.URL).contains("create") {
			t.Fatal("discovery lists create with sign-up off")
		}
		rp := newRelyingParty(t, s.testServer, webClient(true))
		cb := rp.callback(rp.start(newFlow(), oauth2.SetAuthURLParam("prompt", "create")))
		if cb.Get("error") != "invalid_request" {
			t.Fatalf("callback %v", cb)
		}
		if got, _ := rp.browser.Get(s.URL + "/signup"); got.Status != http.StatusNotFound {
			t.Fatalf("/signup: %d", got.Status)
		}
	})
}

func TestUnverifiedCustomersConfirmBeforeSigningIn(t *testing.T) {
	s := startSelfServiceServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.UnverifiedSignIn = false })
	svc := identity.NewService(s.Store(), identity.OWASPMinimum, identity.PasswordPolicy{})
	if _, err := svc.Create(context.Background(), identity.NewUser{Email: "una@example.com", Password: "plum thunder canoe"}); err != nil {
		t.Fatal(err)
	}
	rp := newRelyingParty(t, s.testServer, webClient(true))
	f := newFlow()
	page := rp.login(rp.start(f), "una@example.com", "plum thunder canoe")
	if page.Status != http.StatusForbidden || !strings.Contains(page.Body, "before you sign in") {
		t.Fatalf("unverified sign-in: %d %.400s", page.Status, page.Body)
	}
	page = submit(t, rp.browser, page, "resend", nil, "resend")
	if !strings.Contains(page.Body, `id="check-email-resent"`) {
		t.Fatalf("resend: %d", page.Status)
	}
	code := mailCode(t, s.nextMail(t, "una@example.com"))
	tok, _ := rp.exchange(f, rp.callback(submit(t, rp.browser, page, "code", url.Values{"code": {code}}, "")).Get("code"))
	if info := userinfo(t, rp, tok); info["email_verified"] != true {
		t.Fatalf("userinfo %v", info)
	}
}

// promptValues is discovery's prompt_values_supported.
type promptValues []string

func (p promptValues) contains(v string) bool {
	for _, x := range p {
		if x == v {
			return true
		}
	}
	return false
}

func discoveredPrompts(t *testing.T, issuer string) promptValues {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct {
		Prompts []string `json:"prompt_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	return meta.Prompts
}
