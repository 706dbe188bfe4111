// Package session keeps a customer's sign-in in their browser: the session
// cookie and the server-side session it points to, the browser's device
// cookie that binds pending authorization requests to the browser that
// started them, and the CSRF tokens of the hosted pages' forms. It is shared
// by the pages (pkg/ui) and the protocol endpoints (pkg/oidc).
package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Options configure a Manager.
type Options struct {
	// Secure marks cookies Secure and gives them the __Host- prefix; true
	// whenever the issuer is https.
	Secure bool
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after sign-in.
	Lifetime time.Duration
	// CSRFKey keys the CSRF tokens.
	CSRFKey []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Ender ends sessions that a sign-out or a new sign-in replaces, so
	// that their end is recorded and their clients are told (see
	// pkg/accounts); nil deletes them from the store and no more.
	Ender Ender
}

// storeEnder ends a session by deleting it, and no more.
type storeEnder struct{ store storage.SessionStore }

func (e storeEnder) EndSession(ctx context.Context, id string) (storage.BrowserSession, []string, error) {
	return e.store.DeleteSession(ctx, id)
}

// Ender ends a browser session by its ID (the cookie's hash), returning
// it with the clients it had signed in to; storage.ErrNotFound when gone.
type Ender interface {
	EndSession(ctx context.Context, id string) (storage.BrowserSession, []string, error)
}

// Manager reads and writes browser sessions.
type Manager struct {
	store storage.SessionStore
	opts  Options
	names cookieNames
}

type cookieNames struct{ session, device, lang string }

// NewManager returns a Manager over the store.
func NewManager(store storage.SessionStore, opts Options) *Manager {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Ender == nil {
		opts.Ender = storeEnder{store}
	}
	n := cookieNames{session: "gatehouse_session", device: "gatehouse_device", lang: "gatehouse_lang"}
	if opts.Secure {
		// RFC 6265bis §4.1.3.2: a __Host- cookie is Secure, host-only, Path=/.
		n = cookieNames{session: "__Host-gatehouse_session", device: "__Host-gatehouse_device", lang: "__Host-gatehouse_lang"}
	}
	return &Manager{store: store, opts: opts, names: n}
}

// ErrNoSession means the browser has no live session.
var ErrNoSession = errors.New("session: not signed in")

// Current returns the browser's live session: it exists, is within its
// absolute lifetime and has not been idle too long. It moves LastSeenAt
// forward at most once a minute, to keep reads cheap.
func (m *Manager) Current(ctx context.Context, r *http.Request) (storage.BrowserSession, error) {
	c, err := r.Cookie(m.names.session)
	if err != nil || c.Value == "" {
		return storage.BrowserSession{}, ErrNoSession
	}
	s, err := m.store.GetSession(ctx, hashValue(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.BrowserSession{}, ErrNoSession
	}
	if err != nil {
		return storage.BrowserSession{}, fmt.Errorf("session: %w", err)
	}
	now := m.opts.Now()
	if now.After(s.ExpiresAt) || now.Sub(s.LastSeenAt) > m.opts.IdleTimeout {
		return storage.BrowserSession{}, ErrNoSession
	}
	if now.Sub(s.LastSeenAt) > time.Minute {
		if err := m.store.TouchSession(ctx, s.ID, now); err == nil {
			s.LastSeenAt = now
		}
	}
	return s, nil
}

// Start signs userID in: it ends the browser's previous session, stores a
// new one and sets its cookie. A new cookie value at every sign-in prevents
// session fixation.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, userID string, amr []string) (storage.BrowserSession, error) {
	return m.StartFederated(ctx, w, r, userID, amr, "")
}

// StartFederated signs userID in like Start, and records on the session the
// upstream identity provider that vouched for the customer (its ID, put in
// ID tokens as "idp"); "" for none.
func (m *Manager) StartFederated(ctx context.Context, w http.ResponseWriter, r *http.Request, userID string, amr []string, idp string) (storage.BrowserSession, error) {
	return m.Begin(ctx, w, r, Authentication{UserID: userID, AMR: amr, IDP: idp})
}

// Authentication is what a new browser session records of the sign-in
// that starts it.
type Authentication struct {
	UserID string
	// AMR are the methods used (RFC 8176); ACR the class reached.
	AMR []string
	ACR string
	// IDP is the upstream identity provider that vouched for the
	// customer, "" for none.
	IDP string
}

// Begin signs a customer in like Start, recording the methods, class and
// provider of the sign-in. pkg/signin calls it, once every factor the
// sign-in needs is checked.
func (m *Manager) Begin(ctx context.Context, w http.ResponseWriter, r *http.Request, a Authentication) (storage.BrowserSession, error) {
	userID, amr, idp := a.UserID, a.AMR, a.IDP
	if old, err := r.Cookie(m.names.session); err == nil && old.Value != "" {
		// The browser's previous session ends here: its clients hear of it.
		if _, _, err := m.opts.Ender.EndSession(ctx, hashValue(old.Value)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storage.BrowserSession{}, fmt.Errorf("session: end the previous session: %w", err)
		}
	}
	value := secret.NewRandomString(32)
	now := m.opts.Now().UTC()
	s := storage.BrowserSession{
		ID:         hashValue(value),
		SID:        secret.NewRandomString(18),
		UserID:     userID,
		AuthTime:   now.Truncate(time.Second),
		AMR:        amr,
		ACR:        a.ACR,
		IDP:        idp,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(m.opts.Lifetime),
		UserAgent:  UserAgent(r),
		IP:         clientip.String(ctx),
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return storage.BrowserSession{}, fmt.Errorf("session: start: %w", err)
	}
	// The cookie lives as long as the session may; the server decides
	// whether it still counts.
	m.setCookie(w, m.names.session, value, m.opts.Lifetime)
	return s, nil
}

// StepUp records a further factor on the browser's live session: the
// methods and class it now has, and now as its authentication time. The
// cookie and sid stay, so the apps the session signed in to are not
// signed out.
func (m *Manager) StepUp(ctx context.Context, bs storage.BrowserSession, amr []string, acr string) (storage.BrowserSession, error) {
	now := m.opts.Now().UTC().Truncate(time.Second)
	if err := m.store.StepUpSession(ctx, bs.ID, now, amr, acr); err != nil {
		return bs, fmt.Errorf("session: step up: %w", err)
	}
	bs.AuthTime, bs.AMR, bs.ACR = now, amr, acr
	return bs, nil
}

// End signs the browser out: it deletes the session and the cookie, and
// returns the ended session with the clients it had signed in to.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) (storage.BrowserSession, []string, error) {
	m.setCookie(w, m.names.session, "", -1)
	c, err := r.Cookie(m.names.session)
	if err != nil || c.Value == "" {
		return storage.BrowserSession{}, nil, ErrNoSession
	}
	s, clients, err := m.opts.Ender.EndSession(ctx, hashValue(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.BrowserSession{}, nil, ErrNoSession
	}
	return s, clients, err
}

// Device returns the hash of the browser's device cookie, setting a new
// cookie when it has none. Pending authorization requests are bound to it.
func (m *Manager) Device(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(m.names.device); err == nil && len(c.Value) >= 32 {
		return hashValue(c.Value)
	}
	v := secret.NewRandomString(32)
	m.setCookie(w, m.names.device, v, 400*24*time.Hour)
	// Let handlers later in this request see it too.
	r.AddCookie(&http.Cookie{Name: m.names.device, Value: v})
	return hashValue(v)
}

// CSRFToken returns the token the browser's forms carry: an HMAC of the
// device cookie and the form's purpose, so a token is useless in another
// browser or on another form.
func (m *Manager) CSRFToken(w http.ResponseWriter, r *http.Request, purpose string) string {
	mac := hmac.New(sha256.New, m.opts.CSRFKey)
	mac.Write([]byte(m.Device(w, r)))
	mac.Write([]byte{0})
	mac.Write([]byte(purpose))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports whether the posted token matches, in constant time.
func (m *Manager) CheckCSRF(w http.ResponseWriter, r *http.Request, purpose, token string) bool {
	want := m.CSRFToken(w, r, purpose)
	return token != "" && subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}

// Language returns the language cookie's value, or "".
func (m *Manager) Language(r *http.Request) string {
	if c, err := r.Cookie(m.names.lang); err == nil {
		return c.Value
	}
	return ""
}

// SetLanguage remembers the customer's language choice for a year.
func (m *Manager) SetLanguage(w http.ResponseWriter, tag string) {
	m.setCookie(w, m.names.lang, tag, 365*24*time.Hour)
}

func (m *Manager) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   m.opts.Secure,
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// hashValue is how a cookie secret is kept server-side.
func hashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// SignDecision returns a signature over a consent decision for a pending
// authorization request, bound to this browser, so that the consent page can
// hand the decision to the authorization endpoint in a URL.
func (m *Manager) SignDecision(w http.ResponseWriter, r *http.Request, authID, decision string) string {
	return m.CSRFToken(w, r, "decision\x00"+authID+"\x00"+decision)
}

// VerifyDecision returns decision when sig is SignDecision's signature of it
// for this browser and request, "" otherwise.
func (m *Manager) VerifyDecision(r *http.Request, authID, decision, sig string) string {
	if decision == "" || sig == "" {
		return ""
	}
	c, err := r.Cookie(m.names.device)
	if err != nil || len(c.Value) < 32 {
		return ""
	}
	mac := hmac.New(sha256.New, m.opts.CSRFKey)
	mac.Write([]byte(hashValue(c.Value)))
	mac.Write([]byte{0})
	mac.Write([]byte("decision\x00" + authID + "\x00" + decision))
	want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return ""
	}
	return decision
}

// maxUserAgent is how much of a User-Agent header a session keeps.
const maxUserAgent = 256

// UserAgent is the request's User-Agent header as Gatehouse keeps it with
// a session or a remembered browser: at most maxUserAgent bytes, cut on a
// rune boundary.
func UserAgent(r *http.Request) string { return truncate(r.UserAgent(), maxUserAgent) }

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
