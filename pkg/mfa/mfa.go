// Package mfa keeps customers' second factors: an authenticator app's
// TOTP key (RFC 6238), sealed at rest, whose codes are each accepted once
// and whose wrong codes are throttled; and ten single-use recovery codes,
// stored as keyed hashes and shown once. Every change records its event
// (user.mfa.enrolled, user.mfa.removed, user.mfa.recovery_code_used) in
// the change's transaction. It decides nothing about when a second factor
// is needed: that is pkg/signin's job.
package mfa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Store is what the second factors need of the store.
type Store interface {
	storage.Transactor
	storage.MFAStore
	storage.MFADeviceStore
	GetUser(ctx context.Context, id string) (storage.User, error)
	// DeletePasskeys removes the customer's passkeys (an operator's reset
	// removes them with the other second factors).
	DeletePasskeys(ctx context.Context, userID string) (int, error)
}

// Options are a Service's dependencies.
type Options struct {
	Store   Store
	Events  events.Sink
	Secrets *secret.Keys
	// Throttle limits wrong codes per customer (ratelimit.SecondFactor);
	// nil for none.
	Throttle *ratelimit.Limiter
	// Issuer names the service in authenticator apps ("Gatehouse" when
	// empty).
	Issuer string
	// Now is the clock; nil means time.Now. Tests move it to check the
	// skew window.
	Now func() time.Time
	// OnRecoveryCodeUsed, when set, is called after a sign-in spent a
	// recovery code (committed), with the codes left: the hook for the
	// "was this you?" mail once pkg/mail exists. It must not block.
	OnRecoveryCodeUsed func(ctx context.Context, userID string, left int)
	Logger             *slog.Logger
	// RememberDevice is how long a browser is remembered for the second
	// factor when the customer asks (mfa_remember_device_days); 0 offers
	// no remembering.
	RememberDevice time.Duration
}

// Service manages second factors.
type Service struct {
	store    Store
	events   events.Sink
	secrets  *secret.Keys
	throttle *ratelimit.Limiter
	issuer   string
	now      func() time.Time
	onUsed   func(ctx context.Context, userID string, left int)
	log      *slog.Logger
	remember time.Duration
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{
		store: opts.Store, events: opts.Events, secrets: opts.Secrets, throttle: opts.Throttle,
		issuer: opts.Issuer, now: opts.Now, onUsed: opts.OnRecoveryCodeUsed, log: opts.Logger,
		remember: opts.RememberDevice,
	}
	if s.issuer == "" {
		s.issuer = "Gatehouse"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Errors of checking a code.
var (
	// ErrInvalidCode is a wrong, expired or already used code.
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrNotEnrolled means the customer has no such second factor.
	ErrNotEnrolled = errors.New("mfa: not enrolled")
)

// ThrottledError says a code was not checked because too many were wrong;
// RetryAfter is the wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("mfa: too many wrong codes, retry after %s", e.RetryAfter)
}

// check runs verify under the customer's second-factor throttle: refused
// while a wait is due, a wrong code counted, a right one clearing the
// count. Throttling fails open, as for passwords.
func (s *Service) check(ctx context.Context, userID string, verify func() error) error {
	key := ratelimit.Key{Kind: ratelimit.SecondFactor, Subject: userID}
	d, err := s.throttle.Check(ctx, key)
	if err != nil {
		s.log.ErrorContext(ctx, "throttling a second factor", "error", err.Error())
	}
	if !d.Allowed {
		return &ThrottledError{RetryAfter: d.RetryAfter}
	}
	err = verify()
	switch {
	case errors.Is(err, ErrInvalidCode):
		if ferr := s.throttle.Fail(context.WithoutCancel(ctx), key); ferr != nil {
			s.log.ErrorContext(ctx, "counting a wrong second factor", "error", ferr.Error())
		}
	case err == nil:
		if rerr := s.throttle.Reset(context.WithoutCancel(ctx), key); rerr != nil {
			s.log.ErrorContext(ctx, "clearing the second-factor count", "error", rerr.Error())
		}
	}
	return err
}

// Reset removes every second factor of the customer (an operator's reset:
// admin API, command line) — the authenticator app, the recovery codes
// and the passkeys — and records user.mfa.removed with the reason "reset"
// for each method there was. storage.ErrNotFound when no such customer; a
// customer without second factors is reset all the same, with no event.
func (s *Service) Reset(ctx context.Context, userID string) error {
	return s.remove(ctx, userID, "reset")
}

// remove deletes the second factors and records the event, in one
// transaction.
func (s *Service) remove(ctx context.Context, userID, reason string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.GetUser(ctx, userID); err != nil {
			return fmt.Errorf("mfa: remove: %w", err)
		}
		had, err := s.store.DeleteMFA(ctx, userID)
		if err != nil {
			return fmt.Errorf("mfa: remove: %w", err)
		}
		if _, err := s.store.DeleteMFADevices(ctx, userID); err != nil {
			return fmt.Errorf("mfa: forget remembered devices: %w", err)
		}
		if reason == "reset" {
			n, err := s.store.DeletePasskeys(ctx, userID)
			if err != nil {
				return fmt.Errorf("mfa: remove passkeys: %w", err)
			}
			if n > 0 {
				if err := s.events.Record(ctx, events.New(ctx, events.UserMFARemoved, userID, events.MFAData{Method: MethodPasskey, Reason: reason})); err != nil {
					return err
				}
			}
		}
		if !had {
			return nil
		}
		return s.events.Record(ctx, events.New(ctx, events.UserMFARemoved, userID, events.MFAData{Method: MethodTOTP, Reason: reason}))
	})
}
