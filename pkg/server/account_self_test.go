package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/backchannel"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

const firefoxOnLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// signInToAccount signs the browser in on the account's own sign-in page.
func signInToAccount(t *testing.T, b *browser.Browser, s *testServer, email, password string) *browser.Page {
	t.Helper()
	page, err := b.Get(s.URL + "/account/login?reauth=1")
	if err != nil {
		t.Fatal(err)
	}
	form, err := page.FormWith("password")
	if err != nil {
		t.Fatal(err)
	}
	page, err = b.Submit(form, url.Values{"email": {email}, "password": {password}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(page.URL.Path, "/account") || page.Status != http.StatusOK {
		t.Fatalf("signing in to the account: %d %s %.400s", page.Status, page.URL, page.Body)
	}
	return page
}

// submitOn loads the page at path and submits its form whose action ends
// with action, with set over its fields.
func submitOn(t *testing.T, b *browser.Browser, s *testServer, path, action string, set url.Values) *browser.Page {
	t.Helper()
	page, err := b.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	forms, err := page.Forms()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if strings.HasSuffix(f.Action, action) {
			next, err := b.Submit(f, set, "", "")
			if err != nil {
				t.Fatal(err)
			}
			return next
		}
	}
	t.Fatalf("no form for %s on %s: %.800s", action, path, page.Body)
	return nil
}

// emailChangeLink finds the email-change confirmation link in a mail's text.
func emailChangeLink(t *testing.T, text string) string {
	t.Helper()
	link := regexp.MustCompile(`https?://\S+/account/email/confirm\?token=[A-Za-z0-9_-]+`).FindString(text)
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", text)
	}
	return link
}

// confirmLink opens an email change link and confirms it.
func confirmLink(t *testing.T, b *browser.Browser, link string) *browser.Page {
	t.Helper()
	page, err := b.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	form, err := page.FormWith("token")
	if err != nil {
		t.Fatal(err)
	}
	page, err = b.Submit(form, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// queuedLogouts returns the back-channel logouts waiting to be sent.
func queuedLogouts(t *testing.T, s *testServer) []url.Values {
	t.Helper()
	jobs, err := s.Store().ListJobs(context.Background(), backchannel.JobKind, storage.JobQueued, storage.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var out []url.Values
	for _, j := range jobs {
		q, _ := url.ParseQuery(string(j.Payload))
		out = append(out, q)
	}
	return out
}

// ageSessions makes the customer's sessions' last sign-in an hour old.
func ageSessions(t *testing.T, s *testServer, userID string) {
	t.Helper()
	ctx := context.Background()
	ss, err := s.Store().ListSessionsByUser(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range ss {
		if err := s.Store().StepUpSession(ctx, bs.ID, time.Now().Add(-time.Hour), bs.AMR, bs.ACR); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAccountSelfService(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		smtpd := mailtest.Start(t, mailtest.Options{})
		s := startServerWith(t, db.URL, func(c *config.Config) {
			c.SMTPHost, c.SMTPPort, c.SMTPTLS = smtpd.Host, int64(smtpd.Port), config.SMTPTLSNone
			c.SMTPFrom = "Example <no-reply@example.com>"
		})
		alice, err := s.Services().Accounts.CreateCustomer(ctx, identity.NewUser{
			Email: "alice@example.com", Password: alicePassword, Name: "Alice Liddell", EmailVerified: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		email, password := "alice@example.com", alicePassword
		b := browser.New(s.URL)
		signInToAccount(t, b, s, email, password)
		mails := 0
		nextMail := func(to string) mailtest.Received {
			t.Helper()
			s.Jobs().RunDue(ctx)
			mails++
			got := smtpd.Wait(t, mails)[mails-1]
			if len(got.To) != 1 || got.To[0] != to {
				t.Fatalf("mail %q went to %v, want %s", got.Subject, got.To, to)
			}
			return got
		}

		// An app signed in to from another device, which hears of logouts.
		bc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer bc.Close()
		spec := webClient(false)
		spec.BackchannelLogoutURI = bc.URL
		rp := newRelyingParty(t, s, spec)
		rp.browser.Header.Set("User-Agent", firefoxOnLinux)
		f := newFlow()
		tok, _ := rp.exchange(f, rp.signIn(f).Get("code"))

		t.Run("the account page links to every self-service page", func(t *testing.T) {
			page := accountPage(t, b, s)
			for _, id := range []string{"manage-profile", "manage-password", "manage-sessions", "manage-apps", "manage-data"} {
				if !strings.Contains(page.Body, `id="`+id+`"`) {
					t.Errorf("no %s link: %.600s", id, page.Body)
				}
			}
		})

		t.Run("profile edit is saved through UpdateCustomer", func(t *testing.T) {
			profile := url.Values{"name": {"Alice P. Liddell"}, "given_name": {"Alice"}, "family_name": {"Liddell"},
				"locale": {"fr"}, "picture": {"https://img.example/alice.png"}, "phone_number": {"+44 20 7946 0000"}}
			page := submitOn(t, b, s, "/account/profile", "/account/profile", profile)
			if !strings.Contains(page.URL.RawQuery, "notice=profile_saved") {
				t.Fatalf("after saving: %s %.600s", page.URL, page.Body)
			}
			u, _ := s.Store().GetUser(ctx, alice.ID)
			if u.Name != "Alice P. Liddell" || u.GivenName != "Alice" || u.FamilyName != "Liddell" || u.Locale != "fr" ||
				u.Picture != "https://img.example/alice.png" || u.PhoneNumber != "+44 20 7946 0000" {
				t.Fatalf("stored %+v", u)
			}
			evs, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserUpdated, Subject: alice.ID}, storage.Page{})
			if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"given_name"`) {
				t.Fatalf("user.updated = %+v", evs)
			}
			for field, bad := range map[string]string{"picture": "http://img.example/alice.png", "phone_number": "call me", "locale": "xx"} {
				set := url.Values{}
				for k, v := range profile {
					set[k] = v
				}
				set.Set(field, bad)
				page := submitOn(t, b, s, "/account/profile", "/account/profile", set)
				if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, `role="alert"`) {
					t.Errorf("%s=%q: %d %.400s", field, bad, page.Status, page.Body)
				}
			}
			if u2, _ := s.Store().GetUser(ctx, alice.ID); u2.Picture != u.Picture || u2.PhoneNumber != u.PhoneNumber {
				t.Fatalf("a refused profile was saved: %+v", u2)
			}
		})

		t.Run("a change of email waits for the link mailed to the new address, and tells the old one", func(t *testing.T) {
			page := submitOn(t, b, s, "/account/profile", "/account/email", url.Values{"email": {"Alice.New@Example.com"}})
			if !strings.Contains(page.URL.RawQuery, "notice=email_sent") {
				t.Fatalf("after asking: %s %.600s", page.URL, page.Body)
			}
			if u, _ := s.Store().GetUser(ctx, alice.ID); u.Email != email {
				t.Fatalf("the email changed before the link was opened: %s", u.Email)
			}
			link := emailChangeLink(t, nextMail("alice.new@example.com").Text)
			token := link[strings.Index(link, "token=")+len("token="):]
			if logs := s.logs.String(); strings.Contains(logs, token) {
				t.Fatal("the token is in the logs")
			}
			// The link is opened in another browser, not signed in.
			page = confirmLink(t, browser.New(s.URL), link)
			if page.Status != http.StatusOK || !strings.Contains(page.Body, "Your email address is changed") {
				t.Fatalf("confirming: %d %.600s", page.Status, page.Body)
			}
			u, _ := s.Store().GetUser(ctx, alice.ID)
			if u.Email != "alice.new@example.com" || !u.EmailVerified {
				t.Fatalf("after confirming: %+v", u)
			}
			notice := nextMail(email)
			if notice.Subject != "Votre adresse e-mail a été modifiée" { // Alice chose French above.
				t.Errorf("the old address got %q", notice.Subject)
			}
			email = u.Email
			if page := confirmLink(t, browser.New(s.URL), link); page.Status != http.StatusBadRequest {
				t.Fatalf("a used link: %d %.400s", page.Status, page.Body)
			}
		})

		t.Run("an expired link is refused", func(t *testing.T) {
			const token = "an-expired-token-of-forty-three-characters-"
			sum := sha256.Sum256([]byte(token))
			if err := s.Store().PutEmailChange(ctx, storage.EmailChange{UserID: alice.ID, NewEmail: "late@example.com",
				TokenHash: hex.EncodeToString(sum[:]), CreatedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
			page := confirmLink(t, browser.New(s.URL), s.URL+"/account/email/confirm?token="+token)
			if page.Status != http.StatusBadRequest {
				t.Fatalf("an expired link: %d %.400s", page.Status, page.Body)
			}
			if u, _ := s.Store().GetUser(ctx, alice.ID); u.Email != email {
				t.Fatalf("an expired link changed the email to %s", u.Email)
			}
		})

		t.Run("a password change needs the current password and meets the policy", func(t *testing.T) {
			const newPassword = "a much longer passphrase 42"
			for _, tc := range []struct{ name, current, next, confirm string }{
				{"wrong current password", "not my password", newPassword, newPassword},
				{"too short", password, "short", "short"},
				{"not repeated alike", password, newPassword, newPassword + "!"},
			} {
				page := submitOn(t, b, s, "/account/password", "/account/password",
					url.Values{"current_password": {tc.current}, "new_password": {tc.next}, "confirm_password": {tc.confirm}})
				if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, `role="alert"`) {
					t.Errorf("%s: %d %.400s", tc.name, page.Status, page.Body)
				}
			}
			if evs, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserPasswordChanged}, storage.Page{}); len(evs) != 0 {
				t.Fatal("a refused change recorded user.password_changed")
			}
			page := submitOn(t, b, s, "/account/password", "/account/password",
				url.Values{"current_password": {password}, "new_password": {newPassword}, "confirm_password": {newPassword}})
			if !strings.Contains(page.URL.RawQuery, "notice=password_saved") {
				t.Fatalf("after changing: %d %s %.400s", page.Status, page.URL, page.Body)
			}
			password = newPassword
			if evs, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserPasswordChanged}, storage.Page{}); len(evs) != 1 || evs[0].Actor.ID != alice.ID {
				t.Fatalf("user.password_changed = %+v", evs)
			}
			if got := nextMail(email); got.Subject != "Votre mot de passe a été modifié" {
				t.Errorf("password mail subject %q", got.Subject)
			}
			signInToAccount(t, browser.New(s.URL), s, email, password)
		})

		t.Run("connected apps: revoking one revokes its tokens and logs its sessions out", func(t *testing.T) {
			page, err := b.Get(s.URL + "/account/apps")
			if err != nil || !strings.Contains(page.Body, rp.reg.Client.Name) {
				t.Fatalf("apps page: %v %.600s", err, page.Body)
			}
			if !active(t, s, rp, tok.AccessToken) || !active(t, s, rp, tok.RefreshToken) {
				t.Fatal("the app's tokens are not active to begin with")
			}
			before := len(queuedLogouts(t, s))
			page = submitOn(t, b, s, "/account/apps", "/account/apps/revoke", nil)
			if !strings.Contains(page.URL.RawQuery, "notice=app_revoked") || !strings.Contains(page.Body, `id="no-apps"`) {
				t.Fatalf("after revoking: %s %.600s", page.URL, page.Body)
			}
			if active(t, s, rp, tok.AccessToken) || active(t, s, rp, tok.RefreshToken) {
				t.Fatal("the app's tokens are still active")
			}
			if cs, _ := s.Store().ListConsents(ctx, alice.ID); len(cs) != 0 {
				t.Fatalf("consents left: %+v", cs)
			}
			logouts := queuedLogouts(t, s)
			if len(logouts) != before+1 || logouts[len(logouts)-1].Get("client_id") != rp.reg.Client.ID {
				t.Fatalf("back-channel logouts queued: %v", logouts)
			}
		})

		t.Run("sessions: the list names the device, and ending another one signs it out", func(t *testing.T) {
			page, err := b.Get(s.URL + "/account/sessions")
			if err != nil || !strings.Contains(page.Body, "Firefox · Linux") || !strings.Contains(page.Body, "current-session") {
				t.Fatalf("sessions page: %v %.1200s", err, page.Body)
			}
			ss, _ := s.Store().ListSessionsByUser(ctx, alice.ID)
			var other storage.BrowserSession
			for _, bs := range ss {
				if bs.UserAgent == firefoxOnLinux {
					other = bs
				}
			}
			if other.ID == "" || other.IP == "" {
				t.Fatalf("no session with the app's browser's user agent and an IP: %+v", ss)
			}
			before := len(queuedLogouts(t, s))
			forms, _ := page.Forms()
			var ended bool
			for _, f := range forms {
				if f.Fields.Get("sid") == other.SID {
					page, err = b.Submit(f, nil, "", "")
					ended = err == nil && strings.Contains(page.URL.RawQuery, "notice=session_ended")
				}
			}
			if !ended {
				t.Fatalf("ending the other session: %v %.600s", err, page.Body)
			}
			if _, err := s.Store().GetSession(ctx, other.ID); err == nil {
				t.Fatal("the session is still stored")
			}
			after, _ := rp.browser.Get(s.URL + "/account")
			if !strings.HasSuffix(after.URL.Path, "/account/login") {
				t.Fatalf("the ended session's cookie still works: %s", after.URL)
			}
			if evs, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.SessionEnded, Subject: alice.ID}, storage.Page{}); len(evs) == 0 {
				t.Fatal("no session.ended")
			}
			// The app's consent was revoked above, but the session had
			// signed in to it: it hears of the logout too.
			logouts := queuedLogouts(t, s)
			if len(logouts) != before+1 || logouts[len(logouts)-1].Get("sid") != other.SID {
				t.Fatalf("back-channel logouts queued: %v", logouts)
			}
			if _, err := b.Get(s.URL + "/account"); err != nil || !strings.Contains(accountPage(t, b, s).Body, "manage-profile") {
				t.Fatal("this browser's own session ended")
			}
		})

		t.Run("the data download is JSON with the profile and no secret", func(t *testing.T) {
			page := submitOn(t, b, s, "/account/data", "/account/data/download", nil)
			if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "application/json") ||
				!strings.Contains(page.Header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("download: %d %v", page.Status, page.Header)
			}
			var x struct {
				Profile map[string]any   `json:"profile"`
				Events  []map[string]any `json:"events"`
				MFA     map[string]any   `json:"second_factors"`
			}
			if err := json.Unmarshal([]byte(page.Body), &x); err != nil {
				t.Fatal(err)
			}
			if x.Profile["email"] != email || x.Profile["name"] != "Alice P. Liddell" || x.Profile["has_password"] != true || x.MFA == nil {
				t.Fatalf("export: %.800s", page.Body)
			}
			types := map[string]bool{}
			for _, e := range x.Events {
				types[fmt.Sprint(e["type"])] = true
			}
			if !types[events.UserCreated] || !types[events.UserPasswordChanged] {
				t.Errorf("events exported: %v", types)
			}
			u, _ := s.Store().GetUser(ctx, alice.ID)
			ss, _ := s.Store().ListSessionsByUser(ctx, alice.ID)
			secrets := []string{"$argon2", "password_hash", u.PasswordHash, tok.AccessToken, tok.RefreshToken}
			for _, bs := range ss {
				secrets = append(secrets, bs.ID)
			}
			for _, secret := range secrets {
				if strings.Contains(page.Body, secret) {
					t.Errorf("the export holds %.20q…", secret)
				}
			}
		})

		t.Run("sensitive changes need a sign-in within reauth_max_age", func(t *testing.T) {
			ageSessions(t, s, alice.ID)
			for _, tc := range []struct{ path, action string }{
				{"/account/profile", "/account/email"},
				{"/account/password", "/account/password"},
				{"/account/data", "/account/data/download"},
				{"/account/data", "/account/delete"},
				{"/account/sessions", "/account/sessions/end"},
			} {
				set := url.Values{"email": {"other@example.com"}, "current_password": {password}, "new_password": {"yet another passphrase 7"},
					"confirm_password": {"yet another passphrase 7"}, "confirm": {"yes"}, "all": {"1"}}
				page := submitOn(t, b, s, tc.path, tc.action, set)
				if !strings.Contains(page.URL.String(), "reauth=1") {
					t.Errorf("%s with an old sign-in: %d %s", tc.action, page.Status, page.URL)
				}
			}
			u, err := s.Store().GetUser(ctx, alice.ID)
			if err != nil || u.PasswordHash == "" {
				t.Fatalf("the customer changed without a fresh sign-in: %v", err)
			}
			if ok, _, _ := identity.VerifyPassword(password, u.PasswordHash, identity.OWASPMinimum); !ok {
				t.Fatal("the password changed without a fresh sign-in")
			}
			signInToAccount(t, b, s, email, password)
		})

		t.Run("deleting the account leaves no personal data in any table", func(t *testing.T) {
			page := submitOn(t, b, s, "/account/data", "/account/delete", nil)
			if !strings.Contains(page.URL.RawQuery, "notice=delete_unsure") {
				t.Fatalf("deleting without ticking the box: %s", page.URL)
			}
			page = submitOn(t, b, s, "/account/data", "/account/delete", url.Values{"confirm": {"yes"}})
			if page.Status != http.StatusOK || !strings.Contains(page.Body, "Compte supprimé") && !strings.Contains(page.Body, "Account deleted") {
				t.Fatalf("deleting: %d %.600s", page.Status, page.Body)
			}
			if _, err := s.Store().GetUser(ctx, alice.ID); err == nil {
				t.Fatal("the customer is still stored")
			}
			if after, _ := b.Get(s.URL + "/account"); !strings.HasSuffix(after.URL.Path, "/account/login") {
				t.Fatalf("still signed in: %s", after.URL)
			}
			if del, _ := s.Store().ListEvents(ctx, storage.EventFilter{Type: events.UserDeleted, Subject: alice.ID}, storage.Page{}); len(del) != 1 {
				t.Fatalf("user.deleted = %+v", del)
			}
			personal := []string{"alice@example.com", "alice.new@example.com", "Alice Liddell", "Alice P. Liddell", "Liddell", "+44 20 7946 0000", "img.example"}
			raw := openRaw(t, db.URL)
			tablesQuery := "SELECT name FROM sqlite_master WHERE type = 'table'"
			if !strings.HasPrefix(db.URL, "sqlite://") {
				tablesQuery = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
			}
			var tables []string
			if err := raw.Raw(tablesQuery).Scan(&tables).Error; err != nil || len(tables) < 10 {
				t.Fatalf("tables: %v %v", tables, err)
			}
			for _, table := range tables {
				rows, err := raw.Raw(`SELECT * FROM "` + table + `"`).Rows()
				if err != nil {
					t.Fatalf("%s: %v", table, err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					for i, v := range vals {
						text := fmt.Sprint(v)
						if bs, ok := v.([]byte); ok {
							text = string(bs)
						}
						for _, p := range personal {
							if strings.Contains(strings.ToLower(text), strings.ToLower(p)) {
								t.Errorf("table %s column %s still holds %q: %.200s", table, cols[i], p, text)
							}
						}
					}
				}
				rows.Close()
			}
		})
	})
}
