package selfservice

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/storage"
)

// SendSignInCode mails a one-time sign-in code, valid CodeLifetime, to
// the customer with the email, if their email is verified; an older code
// stops working. For any other email it sends nothing and answers the
// same. The caller throttles it (MailRequestIP).
//
// The code is a first factor (a password's stand-in), never a second: NIST
// SP 800-63B §5.1.3.1 does not allow email as an out-of-band
// authenticator, so pkg/signin never offers it after a password.
func (s *Service) SendSignInCode(ctx context.Context, email, lang string) error {
	normalized, err := identity.NormalizeEmail(email)
	if err != nil {
		return nil
	}
	u, err := s.store.GetUserByEmail(ctx, normalized)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("selfservice: read customer by email: %w", err)
	case !u.EmailVerified:
		return nil
	}
	code := newCode()
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.issue(ctx, storage.PurposeSignInCode, s.codeHash(storage.PurposeSignInCode, u.ID, code), u, "", s.code); err != nil {
			return err
		}
		return s.mail.Queue(ctx, mail.Message{Kind: mail.EmailCode, To: u.Email, Language: language(u, lang),
			Data: mail.Data{Name: u.Name, Code: code, ExpiresIn: s.code}})
	})
}

// CheckSignInCode uses the sign-in code mailed to the email and returns
// its customer. A wrong, used or expired code, or an email no verified
// customer has, is ErrInvalidCode, counted per email typed; too many are
// *ThrottledError.
func (s *Service) CheckSignInCode(ctx context.Context, email, code string) (storage.User, error) {
	normalized, err := identity.NormalizeEmail(email)
	if err != nil {
		return storage.User{}, ErrInvalidCode
	}
	if err := s.checkCodes(ctx, normalized); err != nil {
		return storage.User{}, err
	}
	u, err := s.store.GetUserByEmail(ctx, normalized)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, fmt.Errorf("selfservice: read customer by email: %w", err)
	}
	if err == nil && u.EmailVerified {
		hash := s.codeHash(storage.PurposeSignInCode, u.ID, code)
		t, err := s.store.UseEmailToken(ctx, storage.PurposeSignInCode, hash, s.now())
		switch {
		case err == nil && sameHash(t.Hash, hash) && t.Email == u.Email:
			return u, nil
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return storage.User{}, fmt.Errorf("selfservice: use sign-in code: %w", err)
		}
	}
	s.failCode(ctx, normalized)
	return storage.User{}, ErrInvalidCode
}

// AlertNewDevice queues the "new sign-in" mail to the customer, in the
// transaction in ctx (pkg/signin's, which starts the session).
func (s *Service) AlertNewDevice(ctx context.Context, u storage.User, ip, device string) error {
	if u.Email == "" {
		return nil
	}
	return s.mail.Queue(ctx, mail.Message{Kind: mail.NewSignIn, To: u.Email, Language: u.Locale,
		Data: mail.Data{Name: u.Name, Address: ip, Device: device}})
}
