// Package selfservice is what a customer does for themselves by mail:
// signing up, confirming their email (a link, or a six-digit code from
// the same mail), resetting a forgotten password, and asking for a
// one-time sign-in code. It knows no HTTP: pkg/ui's pages call it, and
// signing in stays with pkg/signin.
//
// Every mailed secret is single-use, expires, and is stored only as a
// keyed hash (HMAC-SHA256 under secret.Keys.EmailTokenKey; a code's hash
// also binds its purpose and customer), compared in constant time once
// the store found it. The mails are queued (pkg/mail) in the transaction
// of the change that causes them. Requests about an address answer alike
// whether a customer has it or not; only the mail differs.
package selfservice

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Kinds of ratelimit counters the service uses.
const (
	// SignUpIP counts sign-ups per client address.
	SignUpIP ratelimit.Kind = "signup_ip"
	// MailRequestIP counts requests for a mail (a reset link, a resent
	// verification, a sign-in code) per client address.
	MailRequestIP ratelimit.Kind = "mail_request_ip"
	// CodeFailures counts wrong mailed codes per customer (or per address
	// typed, for a sign-in code to an unknown one).
	CodeFailures ratelimit.Kind = "email_code_account"
)

// Errors of the service.
var (
	// ErrInvalidToken means a link is unknown, used or expired.
	ErrInvalidToken = errors.New("selfservice: the link is invalid, used or expired")
	// ErrInvalidCode means a code is wrong, used or expired.
	ErrInvalidCode = errors.New("selfservice: the code is wrong, used or expired")
)

// ThrottledError means too many attempts: wait RetryAfter.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("selfservice: too many attempts; retry in %s", e.RetryAfter)
}

// Store is what the service reads and writes itself.
type Store interface {
	storage.Transactor
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetUserByEmail(ctx context.Context, email string) (storage.User, error)
	CreateEmailToken(ctx context.Context, t storage.EmailToken) error
	UseEmailToken(ctx context.Context, purpose, hash string, now time.Time) (storage.EmailToken, error)
	GetEmailToken(ctx context.Context, purpose, hash string, now time.Time) (storage.EmailToken, error)
	DeleteEmailTokens(ctx context.Context, userID string, purposes ...string) error
}

// Links make the absolute URLs the mails carry.
type Links interface {
	// Verify is the page that confirms an email with the token.
	Verify(token string) string
	// Reset is the page that sets a new password with the token.
	Reset(token string) string
	// ResetRequest is the page that asks for a reset link.
	ResetRequest() string
}

// Options are a Service's dependencies.
type Options struct {
	Store    Store
	Accounts *accounts.Service
	Mail     *mail.Service
	Secrets  *secret.Keys
	Links    Links
	// Throttle counts sign-ups, mail requests and wrong codes; nil for
	// none.
	Throttle *ratelimit.Limiter
	// VerificationLifetime, ResetLifetime and CodeLifetime bound the
	// verification link and code, the reset link and the sign-in code.
	VerificationLifetime time.Duration
	ResetLifetime        time.Duration
	CodeLifetime         time.Duration
	// Now is the clock; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs the self-service flows.
type Service struct {
	store    Store
	accounts *accounts.Service
	mail     *mail.Service
	secrets  *secret.Keys
	links    Links
	throttle *ratelimit.Limiter
	verify   time.Duration
	reset    time.Duration
	code     time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{
		store: opts.Store, accounts: opts.Accounts, mail: opts.Mail, secrets: opts.Secrets, links: opts.Links,
		throttle: opts.Throttle, verify: opts.VerificationLifetime, reset: opts.ResetLifetime, code: opts.CodeLifetime,
		now: opts.Now, log: opts.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Take counts one request of a throttled kind (SignUpIP, MailRequestIP)
// by its subject; a *ThrottledError when it must wait. Throttling fails
// open: an error of the counters is logged and the request let through.
func (s *Service) Take(ctx context.Context, kind ratelimit.Kind, subject string) error {
	d, err := s.throttle.Take(ctx, ratelimit.Key{Kind: kind, Subject: subject})
	if err != nil {
		s.log.WarnContext(ctx, "self-service throttle unavailable", "kind", string(kind), "error", err.Error())
		return nil
	}
	if !d.Allowed {
		return &ThrottledError{RetryAfter: d.RetryAfter}
	}
	return nil
}

// newLinkToken returns a random link token (256 bits).
func newLinkToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// newCode returns a random six-digit code.
func newCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000)) // never fails
	return fmt.Sprintf("%06d", n.Int64())
}

// linkHash is the stored hash of a link's token.
func (s *Service) linkHash(purpose, token string) string {
	return s.mac(purpose, "", token)
}

// codeHash is the stored hash of a code: bound to its purpose and
// customer, so a code is only ever tried against one customer's.
func (s *Service) codeHash(purpose, userID, code string) string {
	return s.mac(purpose, userID, code)
}

func (s *Service) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.secrets.EmailTokenKey())
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// sameHash compares the hash the store matched with the one computed, in
// constant time.
func sameHash(stored, computed string) bool {
	return hmac.Equal([]byte(stored), []byte(computed))
}

// issue stores a token's hash for the customer, replacing their older
// ones of the purpose.
func (s *Service) issue(ctx context.Context, purpose, hash string, u storage.User, authID string, life time.Duration) error {
	err := s.store.CreateEmailToken(ctx, storage.EmailToken{
		Hash: hash, Purpose: purpose, UserID: u.ID, Email: u.Email, AuthRequestID: authID,
		ExpiresAt: s.now().Add(life),
	})
	if err != nil {
		return fmt.Errorf("selfservice: store %s token: %w", purpose, err)
	}
	return nil
}

// checkCodes refuses a code while the subject's wrong codes wait.
func (s *Service) checkCodes(ctx context.Context, subject string) error {
	d, err := s.throttle.Check(ctx, ratelimit.Key{Kind: CodeFailures, Subject: subject})
	if err != nil {
		s.log.WarnContext(ctx, "code throttle unavailable", "error", err.Error())
		return nil
	}
	if !d.Allowed {
		return &ThrottledError{RetryAfter: d.RetryAfter}
	}
	return nil
}

// failCode counts a wrong code.
func (s *Service) failCode(ctx context.Context, subject string) {
	if err := s.throttle.Fail(ctx, ratelimit.Key{Kind: CodeFailures, Subject: subject}); err != nil {
		s.log.WarnContext(ctx, "counting a wrong code", "error", err.Error())
	}
}
