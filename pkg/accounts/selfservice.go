package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
)

// SignUp creates a customer who signed themselves up: like CreateCustomer
// (the policy checked and the password hashed before the transaction, the
// default roles given),
// and then, in the same transaction, runs then with the stored customer
// (pkg/selfservice queues the verification mail there). A taken email is
// identity's *InvalidError for "email" wrapping identity.ErrEmailTaken.
func (s *Service) SignUp(ctx context.Context, n identity.NewUser, then func(ctx context.Context, u storage.User) error) (storage.User, error) {
	u, err := s.identity.Prepare(ctx, n)
	if err != nil {
		return storage.User{}, err
	}
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			return identity.StoreError(err)
		}
		if u, err = s.store.GetUser(ctx, u.ID); err != nil {
			return err
		}
		roles, err := s.assignDefaultRoles(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := s.events.Record(ctx, events.New(ctx, events.UserCreated, u.ID,
			events.UserCreatedData{Email: u.Email, EmailVerified: u.EmailVerified, Roles: roles, Attributes: attributeNames(u.Attributes)})); err != nil {
			return err
		}
		return then(ctx, u)
	})
	if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// ErrEmailChanged means a verification was for an address the customer
// no longer has.
var ErrEmailChanged = errors.New("accounts: the email changed since the verification was sent")

// VerifyEmail marks the customer's email verified, if it is still email,
// recording user.updated and user.email_verified; within runs first in
// the same transaction (pkg/selfservice uses the token there, so a
// failed verification leaves the token unused). Verifying a verified
// email changes nothing and records nothing.
func (s *Service) VerifyEmail(ctx context.Context, userID, email string, within func(ctx context.Context) error) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		if err := within(ctx); err != nil {
			return err
		}
		var err error
		out, err = s.UpdateCustomer(ctx, userID, func(u storage.User) (storage.User, error) {
			if u.Email != email {
				return u, ErrEmailChanged
			}
			u.EmailVerified = true
			return u, nil
		})
		return err
	})
	return out, err
}

// ResetPassword gives the customer a new password after they proved they
// read their mail: the policy is checked and the hash computed before the
// transaction; then, in one, within runs (the reset token is used and the
// "password changed" mail queued there), the hash is stored with
// user.password_changed, the email is marked verified (the mail reached
// them), every browser session is ended (with back-channel logouts) and
// every access and refresh token of the customer is revoked. A password
// the policy refuses is identity's *InvalidError for "password", and
// nothing changes.
func (s *Service) ResetPassword(ctx context.Context, userID, password string, within func(ctx context.Context, u storage.User) error) error {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	hash, err := s.identity.HashNewPassword(ctx, u, password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context) error {
		if err := within(ctx, u); err != nil {
			return err
		}
		var old storage.User
		err := s.store.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
			old = u
			u.PasswordHash = hash
			u.EmailVerified = true
			return u, nil
		})
		if err != nil {
			return fmt.Errorf("reset password: %w", err)
		}
		evs := []storage.Event{events.New(ctx, events.UserPasswordChanged, userID, nil)}
		if !old.EmailVerified {
			evs = append(evs,
				events.New(ctx, events.UserUpdated, userID, events.UserUpdatedData{Fields: []string{"email_verified"}}),
				events.New(ctx, events.UserEmailVerified, userID, events.UserEmailVerifiedData{Email: old.Email}))
		}
		if err := s.events.Record(ctx, evs...); err != nil {
			return err
		}
		var n int
		if err := s.endSessionsOf(ctx, userID, "", &n); err != nil {
			return fmt.Errorf("reset password: end sessions: %w", err)
		}
		if err := s.store.RevokeTokensOf(ctx, userID, ""); err != nil {
			return fmt.Errorf("reset password: revoke tokens: %w", err)
		}
		return nil
	})
}
