package accounts

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Errors of a change of email.
var (
	// ErrSameEmail is a request to change the email to the one the
	// customer has.
	ErrSameEmail = errors.New("accounts: that is the customer's email already")
	// ErrLinkInvalid is a confirmation link that is unknown, used already,
	// replaced by a newer request, or expired.
	ErrLinkInvalid = errors.New("accounts: the email change link is invalid or expired")
)

// EmailChangeRequest asks to change a customer's email.
type EmailChangeRequest struct {
	UserID   string
	NewEmail string
	// Link makes the confirmation link (absolute) from its token.
	Link func(token string) string
	// TTL is how long the link works.
	TTL time.Duration
	// Language is the mail's language (the page's).
	Language string
}

// RequestEmailChange starts a change of the customer's email: it stores
// the new address with the hash of a new single-use token, replacing any
// pending change, and mails the link to the new address, in one
// transaction. The address stays as it is until ConfirmEmailChange. A
// malformed or taken address is identity's *InvalidError for "email";
// the customer's own address is ErrSameEmail. It records no event: the
// change, once confirmed, does.
func (s *Service) RequestEmailChange(ctx context.Context, r EmailChangeRequest) error {
	email, err := identity.NormalizeEmail(r.NewEmail)
	if err != nil {
		return &identity.InvalidError{Field: "email", Reason: err.Error(), Err: err}
	}
	u, err := s.store.GetUser(ctx, r.UserID)
	if err != nil {
		return fmt.Errorf("request email change: %w", err)
	}
	if strings.EqualFold(u.Email, email) {
		return ErrSameEmail
	}
	if _, err := s.store.GetUserByEmail(ctx, email); err == nil {
		return identity.StoreError(storage.ErrAlreadyExists)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("request email change: %w", err)
	}
	token := secret.NewRandomString(32)
	now := time.Now().UTC()
	return s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.PutEmailChange(ctx, storage.EmailChange{
			UserID: u.ID, NewEmail: email, TokenHash: tokenHash(token), CreatedAt: now, ExpiresAt: now.Add(r.TTL),
		}); err != nil {
			return fmt.Errorf("request email change: %w", err)
		}
		u.Locale = r.Language
		return s.queueMail(ctx, u, mail.EmailVerification, email, mail.Data{Link: r.Link(token), ExpiresIn: r.TTL})
	})
}

// ConfirmEmailChange completes the change whose link carried token: the
// customer's email becomes the new address, verified (user.updated and
// user.email_verified, through UpdateCustomer), and the old address, if
// any, is told by mail, in one transaction. The link works once; an
// unknown, used, replaced or expired one is ErrLinkInvalid. An address
// taken meanwhile is identity's *InvalidError for "email".
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (storage.User, error) {
	if token == "" {
		return storage.User{}, ErrLinkInvalid
	}
	hash := tokenHash(token)
	var out storage.User
	var expired bool
	err := s.inTx(ctx, func(ctx context.Context) error {
		c, err := s.store.TakeEmailChange(ctx, hash)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrLinkInvalid
		}
		if err != nil {
			return fmt.Errorf("confirm email change: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(c.TokenHash), []byte(hash)) != 1 {
			return ErrLinkInvalid
		}
		if time.Now().After(c.ExpiresAt) {
			// Taken, so that it is gone; nothing else changes.
			expired = true
			return nil
		}
		var old storage.User
		out, err = s.UpdateCustomer(ctx, c.UserID, func(u storage.User) (storage.User, error) {
			old = u
			u.Email, u.EmailVerified = c.NewEmail, true
			return u, nil
		})
		if errors.Is(err, storage.ErrAlreadyExists) {
			return identity.StoreError(err)
		}
		if err != nil {
			return fmt.Errorf("confirm email change: %w", err)
		}
		if old.Email == "" {
			return nil
		}
		return s.queueMail(ctx, out, mail.EmailChanged, old.Email, mail.Data{})
	})
	if err == nil && expired {
		err = ErrLinkInvalid
	}
	return out, err
}

// queueMail queues a mail of kind to the address in the transaction in
// ctx, greeting the customer by name in their language; with no mailer
// or no address it does nothing.
func (s *Service) queueMail(ctx context.Context, u storage.User, kind mail.Kind, to string, data mail.Data) error {
	if s.mail == nil || to == "" {
		return nil
	}
	data.Name = u.Name
	if err := s.mail.Queue(ctx, mail.Message{Kind: kind, To: to, Language: u.Locale, Data: data}); err != nil {
		return fmt.Errorf("queue %s mail: %w", kind, err)
	}
	return nil
}

// tokenHash is the stored form of a link's token: SHA-256, hex. The token
// has 256 bits of entropy, so a plain hash is enough.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
