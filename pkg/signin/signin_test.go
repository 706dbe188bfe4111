package signin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// testBrowser is one browser: its cookies carried from answer to request.
type testBrowser struct {
	sessions *session.Manager
	cookies  []*http.Cookie
	device   string
}

func (b *testBrowser) request() (*httptest.ResponseRecorder, *http.Request) {
	r := httptest.NewRequest(http.MethodPost, "https://id.example/login", nil)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	return httptest.NewRecorder(), r
}

func (b *testBrowser) keep(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		b.cookies = slices.DeleteFunc(b.cookies, func(o *http.Cookie) bool { return o.Name == c.Name })
		if c.MaxAge >= 0 {
			b.cookies = append(b.cookies, c)
		}
	}
}

func (b *testBrowser) Device() string {
	if b.device == "" {
		w, r := b.request()
		b.device = b.sessions.Device(w, r)
		b.keep(w)
	}
	return b.device
}

func (b *testBrowser) IP() string { return "192.0.2.1" }

func (b *testBrowser) UserAgent() string { return "Firefox/140" }

func (b *testBrowser) Current(ctx context.Context) (storage.BrowserSession, error) {
	_, r := b.request()
	return b.sessions.Current(ctx, r)
}

func (b *testBrowser) Begin(ctx context.Context, a session.Authentication) (storage.BrowserSession, error) {
	b.Device()
	w, r := b.request()
	bs, err := b.sessions.Begin(ctx, w, r, a)
	b.keep(w)
	return bs, err
}

type fixture struct {
	store  *gormstore.Store
	svc    *signin.Service
	mfa    *mfa.Service
	sess   *session.Manager
	now    time.Time
	policy acr.Policy
}

func newFixture(t *testing.T, databaseURL string, policy acr.Policy) *fixture {
	t.Helper()
	keys, err := secret.Derive([]byte("test-secret-test-secret-test-secret-0123"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: gormstoretest.Open(t, databaseURL), now: time.Unix(1_800_000_015, 0)}
	clock := func() time.Time { return f.now }
	rec := events.NewRecorder(f.store)
	people := identity.NewService(f.store, identity.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, identity.PasswordPolicy{MinLength: 8})
	acct := accounts.New(accounts.Options{Store: f.store, Events: rec, Secrets: keys, Identity: people})
	f.sess = session.NewManager(f.store, session.Options{IdleTimeout: time.Hour, Lifetime: time.Hour, CSRFKey: keys.CSRFKey(), Ender: acct})
	f.mfa = mfa.New(mfa.Options{Store: f.store, Events: rec, Secrets: keys, Now: clock})
	f.svc = signin.New(signin.Options{
		Store: f.store, Accounts: acct, Sessions: f.sess, MFA: f.mfa,
		SecondFactors: map[string]signin.SecondFactor{
			signin.TOTP.Name:         {Method: signin.TOTP, Verify: f.mfa.VerifyTOTP},
			signin.RecoveryCode.Name: {Method: signin.RecoveryCode, Verify: f.mfa.UseRecoveryCode},
		},
		ACR: acr.Rules{Policy: policy}, Key: keys.SignInKey(),
		Paths:        signin.Paths{Resume: "/oauth2/auth/resume", Account: "/account", SecondFactor: "/login/mfa", Enrol: "/login/mfa/enrol"},
		ReauthMaxAge: 5 * time.Minute, Now: clock,
	})
	ctx := context.Background()
	must(t, f.store.CreateClient(ctx, storage.Client{ID: "rp", Name: "RP", RedirectURIs: []string{"https://rp.example/cb"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}}))
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// user creates a customer, enrolled in TOTP when key is wanted.
func (f *fixture) user(t *testing.T, id string, enrolled bool) (storage.User, string) {
	t.Helper()
	ctx := context.Background()
	must(t, f.store.CreateUser(ctx, storage.User{ID: id, Email: id + "@example.com"}))
	u, err := f.store.GetUser(ctx, id)
	must(t, err)
	if !enrolled {
		return u, ""
	}
	e, err := f.mfa.BeginTOTP(ctx, u)
	must(t, err)
	_, err = f.mfa.ConfirmTOTP(ctx, id, code(t, e.Secret, f.now.Add(-30*time.Second)))
	must(t, err)
	u, err = f.store.GetUser(ctx, id)
	must(t, err)
	return u, e.Secret
}

func code(t *testing.T, key string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(key, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	must(t, err)
	return c
}

func (f *fixture) authRequest(t *testing.T, id string, form string) {
	t.Helper()
	must(t, f.store.CreateAuthRequest(context.Background(), storage.AuthRequest{
		ID: id, ClientID: "rp", Form: form, RequestedAt: f.now, BrowserBinding: "b", ExpiresAt: time.Now().Add(time.Hour),
	}))
}

// lastLogin returns the data of the customer's last user.login.succeeded.
func (f *fixture) lastLogin(t *testing.T, userID string) events.LoginData {
	t.Helper()
	es, err := f.store.ListEvents(context.Background(), storage.EventFilter{Type: events.UserLoginSucceeded, Subject: userID}, storage.Page{})
	must(t, err)
	if len(es) == 0 {
		t.Fatal("no user.login.succeeded")
	}
	var d events.LoginData
	must(t, json.Unmarshal(es[len(es)-1].Data, &d))
	return d
}

// TestEveryWayInEndsAlike runs each first factor, to an app and to the
// account page, for a customer with and without a second factor, and
// checks that each ends in the same session and event shape.
func TestEveryWayInEndsAlike(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL, acr.PolicyOptional)
		ctx := context.Background()
		ways := []struct {
			name   string
			method signin.Method
			idp    string
			// withRow passes the customer's row, as the password check has it.
			withRow bool
		}{
			{"password", signin.Password, "", true},
			{"upstream provider", signin.Federated, "google", false},
		}
		for i, way := range ways {
			for _, app := range []bool{true, false} {
				for _, enrolled := range []bool{false, true} {
					name := way.name
					if app {
						name += " to an app"
					} else {
						name += " to the account page"
					}
					if enrolled {
						name += " with TOTP"
					}
					t.Run(name, func(t *testing.T) {
						id := strings.NewReplacer(" ", "-").Replace(name) + string(rune('a'+i))
						u, key := f.user(t, id, enrolled)
						in := signin.FirstFactor{UserID: u.ID, Method: way.method, IDP: way.idp}
						if way.withRow {
							in.User = &u
						}
						wantURL := "/account"
						if app {
							in.AuthRequestID = "ar-" + id
							f.authRequest(t, in.AuthRequestID, "client_id=rp&scope=openid")
							wantURL = "/oauth2/auth/resume?auth=" + in.AuthRequestID
						}
						b := &testBrowser{sessions: f.sess}
						next, err := f.svc.FirstFactor(ctx, b, in)
						must(t, err)
						wantAMR, wantACR, second := way.method.AMR, acr.Single, ""
						if enrolled {
							if next.Step != signin.AskSecondFactor || next.Pending == "" {
								t.Fatalf("next = %+v, want the second factor asked", next)
							}
							if _, err := b.Current(ctx); !errors.Is(err, session.ErrNoSession) {
								t.Fatal("a session exists before the second factor")
							}
							next, err = f.svc.SecondFactor(ctx, b, next.Pending, "totp", code(t, key, f.now), false)
							must(t, err)
							wantAMR, wantACR, second = append(slices.Clone(way.method.AMR), "otp", "mfa"), acr.Multi, "totp"
						}
						if next.Step != signin.Done || next.URL != wantURL {
							t.Fatalf("next = %+v, want done at %s", next, wantURL)
						}
						bs, err := b.Current(ctx)
						must(t, err)
						if !slices.Equal(bs.AMR, wantAMR) || bs.ACR != wantACR || bs.IDP != way.idp || bs.SID == "" || !bs.AuthTime.Equal(next.Session.AuthTime) {
							t.Fatalf("session %+v, want amr %v acr %s idp %q", bs, wantAMR, wantACR, way.idp)
						}
						d := f.lastLogin(t, u.ID)
						if d.Method != way.method.Name || d.SecondFactor != second || !slices.Equal(d.AMR, wantAMR) || d.ACR != wantACR || d.IP != "192.0.2.1" {
							t.Fatalf("user.login.succeeded %+v", d)
						}
						if app {
							ar, err := f.store.GetAuthRequest(ctx, in.AuthRequestID)
							must(t, err)
							if ar.SessionID != bs.ID {
								t.Fatal("the session is not recorded on the request")
							}
						}
					})
				}
			}
		}
	})
}

func TestPendingState(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL, acr.PolicyOptional)
		ctx := context.Background()
		u, key := f.user(t, "ada", true)
		b := &testBrowser{sessions: f.sess}
		next, err := f.svc.FirstFactor(ctx, b, signin.FirstFactor{User: &u, Method: signin.Password})
		must(t, err)
		t.Run("another browser cannot use it", func(t *testing.T) {
			other := &testBrowser{sessions: f.sess}
			if _, err := f.svc.SecondFactor(ctx, other, next.Pending, "totp", code(t, key, f.now), false); !errors.Is(err, signin.ErrExpired) {
				t.Fatalf("err = %v, want ErrExpired", err)
			}
		})
		t.Run("an altered token is refused", func(t *testing.T) {
			bad := strings.Replace(next.Pending, next.Pending[:4], "AAAA", 1)
			if _, err := f.svc.SecondFactor(ctx, b, bad, "totp", code(t, key, f.now), false); !errors.Is(err, signin.ErrExpired) {
				t.Fatalf("err = %v, want ErrExpired", err)
			}
		})
		t.Run("a wrong code leaves it pending and records the failure", func(t *testing.T) {
			if _, err := f.svc.SecondFactor(ctx, b, next.Pending, "totp", code(t, key, f.now.Add(time.Hour)), false); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("err = %v", err)
			}
			es, err := f.store.ListEvents(ctx, storage.EventFilter{Type: events.UserLoginFailed, Subject: u.ID}, storage.Page{})
			must(t, err)
			if len(es) != 1 || !strings.Contains(string(es[0].Data), `"invalid_code"`) {
				t.Fatalf("user.login.failed %+v", es)
			}
		})
		t.Run("it expires", func(t *testing.T) {
			f.now = f.now.Add(11 * time.Minute)
			defer func() { f.now = f.now.Add(-11 * time.Minute) }()
			if _, err := f.svc.SecondFactor(ctx, b, next.Pending, "totp", code(t, key, f.now), false); !errors.Is(err, signin.ErrExpired) {
				t.Fatalf("err = %v, want ErrExpired", err)
			}
		})
		t.Run("an unknown method is refused", func(t *testing.T) {
			if _, err := f.svc.SecondFactor(ctx, b, next.Pending, "sms", "123456", false); !errors.Is(err, signin.ErrUnknownMethod) {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestRequiredPolicyEnrols(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL, acr.PolicyRequired)
		ctx := context.Background()
		u, _ := f.user(t, "ada", false)
		b := &testBrowser{sessions: f.sess}
		next, err := f.svc.FirstFactor(ctx, b, signin.FirstFactor{User: &u, Method: signin.Password})
		must(t, err)
		if next.Step != signin.AskEnrolment {
			t.Fatalf("next = %+v, want enrolment", next)
		}
		e, err := f.svc.Enrolment(ctx, b, next.Pending)
		must(t, err)
		again, err := f.svc.Enrolment(ctx, b, next.Pending)
		must(t, err)
		if again.Secret != e.Secret {
			t.Fatal("showing the page again made a new key")
		}
		done, err := f.svc.ConfirmEnrolment(ctx, b, next.Pending, code(t, e.Secret, f.now))
		must(t, err)
		if done.Step != signin.Done || len(done.RecoveryCodes) != mfa.RecoveryCodeCount || done.Session.ACR != acr.Multi {
			t.Fatalf("done = %+v", done)
		}
	})
}
