package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// clock is a settable clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// recordingEnder ends sessions in the store and remembers which.
type recordingEnder struct {
	store storage.SessionStore
	ended []string
}

func (e *recordingEnder) EndSession(ctx context.Context, id string) (storage.BrowserSession, []string, error) {
	e.ended = append(e.ended, id)
	return e.store.DeleteSession(ctx, id)
}

func newManager(t *testing.T, secure bool) (*session.Manager, *clock, *recordingEnder, storage.Store) {
	t.Helper()
	store := gormstoretest.Open(t, gormstoretest.SQLiteURL(t))
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	ender := &recordingEnder{store: store}
	m := session.NewManager(store, session.Options{
		Secure: secure, IdleTimeout: time.Hour, Lifetime: 24 * time.Hour,
		CSRFKey: []byte("0123456789abcdef0123456789abcdef"), Now: clk.Now, Ender: ender,
	})
	return m, clk, ender, store
}

// browser carries cookies from answers to the next request.
type browser struct{ cookies map[string]*http.Cookie }

func (b *browser) request() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://id.example/", nil)
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func (b *browser) keep(w *httptest.ResponseRecorder) []*http.Cookie {
	set := w.Result().Cookies()
	for _, c := range set {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return set
}

func TestCookiesAreHostOnlySecureHTTPOnlyLax(t *testing.T) {
	m, _, _, store := newManager(t, true)
	ctx := context.Background()
	if err := store.CreateUser(ctx, storage.User{ID: "u1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if _, err := m.Start(ctx, w, httptest.NewRequest(http.MethodPost, "https://id.example/login", nil), "u1", []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("no cookie set")
	}
	for _, c := range cookies {
		// RFC 6265bis §4.1.3.2: __Host- means Secure, Path=/, no Domain.
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %+v", c)
		}
	}
}

func TestSessionLifetimes(t *testing.T) {
	m, clk, _, store := newManager(t, false)
	ctx := context.Background()
	if err := store.CreateUser(ctx, storage.User{ID: "u1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	b := &browser{cookies: map[string]*http.Cookie{}}
	w := httptest.NewRecorder()
	if _, err := m.Start(ctx, w, b.request(), "u1", []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	b.keep(w)
	current := func() error { _, err := m.Current(ctx, b.request()); return err }
	if err := current(); err != nil {
		t.Fatalf("just signed in: %v", err)
	}
	// Used every 50 minutes, the session stays; the idle timeout is an hour.
	for range 5 {
		clk.now = clk.now.Add(50 * time.Minute)
		if err := current(); err != nil {
			t.Fatalf("at %v: %v", clk.now, err)
		}
	}
	t.Run("idle for longer than the idle timeout, it is over", func(t *testing.T) {
		clk.now = clk.now.Add(61 * time.Minute)
		if err := current(); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("after idling: %v", err)
		}
	})
	t.Run("past its lifetime it is over, however busy", func(t *testing.T) {
		w := httptest.NewRecorder()
		if _, err := m.Start(ctx, w, b.request(), "u1", []string{"pwd"}); err != nil {
			t.Fatal(err)
		}
		b.keep(w)
		for range 30 {
			clk.now = clk.now.Add(50 * time.Minute)
			_ = current()
		}
		if err := current(); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("25 hours after sign-in: %v", err)
		}
	})
}

// A new sign-in gives a new cookie and ends the browser's previous session
// through the Ender, which records it and tells its clients (pkg/accounts);
// signing out ends it the same way.
func TestNewSignInAndSignOutEndTheOldSessionThroughTheEnder(t *testing.T) {
	m, _, ender, store := newManager(t, false)
	ctx := context.Background()
	if err := store.CreateUser(ctx, storage.User{ID: "u1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	b := &browser{cookies: map[string]*http.Cookie{}}
	w := httptest.NewRecorder()
	first, err := m.Start(ctx, w, b.request(), "u1", []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	old := b.keep(w)
	w = httptest.NewRecorder()
	second, err := m.StartFederated(ctx, w, b.request(), "u1", []string{"fed"}, "google")
	if err != nil {
		t.Fatal(err)
	}
	renewed := b.keep(w)
	if first.ID == second.ID || first.SID == second.SID || old[0].Value == renewed[0].Value {
		t.Fatal("a new sign-in kept the old session or cookie")
	}
	if len(ender.ended) != 1 || ender.ended[0] != first.ID {
		t.Fatalf("ended %v, want the first session", ender.ended)
	}
	if _, err := store.GetSession(ctx, first.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the old session is still stored: %v", err)
	}
	w = httptest.NewRecorder()
	if _, _, err := m.End(ctx, w, b.request()); err != nil {
		t.Fatal(err)
	}
	b.keep(w)
	if len(ender.ended) != 2 || ender.ended[1] != second.ID {
		t.Fatalf("sign-out ended %v", ender.ended)
	}
	if _, err := m.Current(ctx, b.request()); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("still signed in after signing out: %v", err)
	}
}

func TestCSRFTokensAndDecisionsAreBoundToTheBrowserAndPurpose(t *testing.T) {
	m, _, _, _ := newManager(t, false)
	alice := &browser{cookies: map[string]*http.Cookie{}}
	w := httptest.NewRecorder()
	token := m.CSRFToken(w, alice.request(), "login")
	alice.keep(w)
	if !m.CheckCSRF(httptest.NewRecorder(), alice.request(), "login", token) {
		t.Fatal("the browser's own token is refused")
	}
	if m.CheckCSRF(httptest.NewRecorder(), alice.request(), "consent", token) {
		t.Error("a token for another form is accepted")
	}
	mallory := &browser{cookies: map[string]*http.Cookie{}}
	w = httptest.NewRecorder()
	m.CSRFToken(w, mallory.request(), "login")
	mallory.keep(w)
	if m.CheckCSRF(httptest.NewRecorder(), mallory.request(), "login", token) {
		t.Error("another browser's token is accepted")
	}
	sig := m.SignDecision(httptest.NewRecorder(), alice.request(), "auth-1", "allow")
	if m.VerifyDecision(alice.request(), "auth-1", "allow", sig) != "allow" {
		t.Error("the browser's own decision is refused")
	}
	for _, tc := range []struct {
		b              *browser
		auth, decision string
	}{
		{mallory, "auth-1", "allow"}, {alice, "auth-2", "allow"}, {alice, "auth-1", "deny"},
	} {
		if m.VerifyDecision(tc.b.request(), tc.auth, tc.decision, sig) != "" {
			t.Errorf("a forged decision (%s, %s) verifies", tc.auth, tc.decision)
		}
	}
}
