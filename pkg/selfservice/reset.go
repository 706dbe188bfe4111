package selfservice

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/storage"
)

// RequestReset mails a password-reset link, valid ResetLifetime, to the
// customer with the email; an older link stops working. For an email no
// customer has it sends nothing and answers the same: the page says "if
// an account exists, we sent a link" in both cases. The caller throttles
// it (MailRequestIP).
func (s *Service) RequestReset(ctx context.Context, email, authID, lang string) error {
	normalized, err := identity.NormalizeEmail(email)
	if err != nil {
		return nil // no customer has a malformed email
	}
	u, err := s.store.GetUserByEmail(ctx, normalized)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("selfservice: read customer by email: %w", err)
	}
	token := newLinkToken()
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.issue(ctx, storage.PurposeReset, s.linkHash(storage.PurposeReset, token), u, authID, s.reset); err != nil {
			return err
		}
		return s.mail.Queue(ctx, mail.Message{Kind: mail.PasswordReset, To: u.Email, Language: language(u, lang),
			Data: mail.Data{Name: u.Name, Link: s.links.Reset(token), ExpiresIn: s.reset}})
	})
}

// CheckReset says whether a reset link still works, without using it,
// for the page that asks for the new password.
func (s *Service) CheckReset(ctx context.Context, token string) error {
	hash := s.linkHash(storage.PurposeReset, token)
	t, err := s.store.GetEmailToken(ctx, storage.PurposeReset, hash, s.now())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !sameHash(t.Hash, hash)) {
		return ErrInvalidToken
	}
	return err
}

// Reset is a finished password reset.
type Reset struct {
	UserID string
	// AuthRequestID is the authorization request the customer asked for
	// the link from, "" for none.
	AuthRequestID string
}

// ResetPassword sets a new password with a reset link: the password is
// checked against the policy first (a refusal is identity's
// *InvalidError, and the link keeps working); then, in one transaction,
// the link is used, the password stored (user.password_changed), every
// session of the customer ended and every token revoked, and the
// "password changed" mail queued (accounts.ResetPassword). An unknown,
// used or expired link is ErrInvalidToken.
func (s *Service) ResetPassword(ctx context.Context, token, password, lang string) (Reset, error) {
	hash := s.linkHash(storage.PurposeReset, token)
	t, err := s.store.GetEmailToken(ctx, storage.PurposeReset, hash, s.now())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !sameHash(t.Hash, hash)) {
		return Reset{}, ErrInvalidToken
	}
	if err != nil {
		return Reset{}, fmt.Errorf("selfservice: read reset token: %w", err)
	}
	err = s.accounts.ResetPassword(ctx, t.UserID, password, func(ctx context.Context, u storage.User) error {
		if _, err := s.store.UseEmailToken(ctx, storage.PurposeReset, hash, s.now()); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return ErrInvalidToken
			}
			return err
		}
		if u.Email != t.Email {
			return ErrInvalidToken
		}
		return s.mail.Queue(ctx, mail.Message{Kind: mail.PasswordChanged, To: u.Email, Language: language(u, lang),
			Data: mail.Data{Name: u.Name}})
	})
	if errors.Is(err, storage.ErrNotFound) {
		return Reset{}, ErrInvalidToken
	}
	if err != nil {
		return Reset{}, err
	}
	return Reset{UserID: t.UserID, AuthRequestID: t.AuthRequestID}, nil
}
