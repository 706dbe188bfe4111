package selfservice

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/storage"
)

// sendVerification issues a verification link and a code for the
// customer's email, replacing older ones, and queues the mail carrying
// both, in the transaction in ctx.
func (s *Service) sendVerification(ctx context.Context, u storage.User, authID, lang string) error {
	token, code := newLinkToken(), newCode()
	if err := s.issue(ctx, storage.PurposeVerifyLink, s.linkHash(storage.PurposeVerifyLink, token), u, authID, s.verify); err != nil {
		return err
	}
	if err := s.issue(ctx, storage.PurposeVerifyCode, s.codeHash(storage.PurposeVerifyCode, u.ID, code), u, authID, s.verify); err != nil {
		return err
	}
	return s.mail.Queue(ctx, mail.Message{Kind: mail.EmailVerification, To: u.Email, Language: language(u, lang),
		Data: mail.Data{Name: u.Name, Link: s.links.Verify(token), Code: code, ExpiresIn: s.verify}})
}

// ResendVerification sends a new verification mail to the customer, whose
// older link and code stop working; nothing for a customer whose email is
// verified, or who is gone. The caller throttles it (MailRequestIP) and
// answers alike in every case.
func (s *Service) ResendVerification(ctx context.Context, userID, authID, lang string) error {
	u, err := s.store.GetUser(ctx, userID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("selfservice: read customer: %w", err)
	case u.EmailVerified:
		return nil
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error { return s.sendVerification(ctx, u, authID, lang) })
	if err != nil {
		return fmt.Errorf("selfservice: resend verification: %w", err)
	}
	return nil
}

// Verified is a confirmed email.
type Verified struct {
	User storage.User
	// AuthRequestID is the authorization request the customer signed up
	// from, "" for none.
	AuthRequestID string
}

// CheckVerifyLink says whether a verification link still works, without
// using it (the page asks the customer to confirm first, so a mail
// scanner that opens links confirms nothing).
func (s *Service) CheckVerifyLink(ctx context.Context, token string) error {
	hash := s.linkHash(storage.PurposeVerifyLink, token)
	t, err := s.store.GetEmailToken(ctx, storage.PurposeVerifyLink, hash, s.now())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !sameHash(t.Hash, hash)) {
		return ErrInvalidToken
	}
	return err
}

// VerifyLink uses a verification link: the customer's email is marked
// verified (user.email_verified recorded through accounts) if it is still
// the one the link was sent to, and the link and its code stop working.
// An unknown, used or expired link is ErrInvalidToken.
func (s *Service) VerifyLink(ctx context.Context, token string) (Verified, error) {
	hash := s.linkHash(storage.PurposeVerifyLink, token)
	return s.useVerification(ctx, storage.PurposeVerifyLink, hash, ErrInvalidToken)
}

// VerifyCode uses the verification code of the customer's mail, as
// VerifyLink does its link. A wrong, used or expired code is
// ErrInvalidCode and counted; too many wrong ones are *ThrottledError.
func (s *Service) VerifyCode(ctx context.Context, userID, code string) (Verified, error) {
	if err := s.checkCodes(ctx, userID); err != nil {
		return Verified{}, err
	}
	v, err := s.useVerification(ctx, storage.PurposeVerifyCode, s.codeHash(storage.PurposeVerifyCode, userID, code), ErrInvalidCode)
	if errors.Is(err, ErrInvalidCode) {
		s.failCode(ctx, userID)
	}
	return v, err
}

// useVerification uses a token of the purpose and verifies the email, in
// one transaction: a failure leaves the token unused.
func (s *Service) useVerification(ctx context.Context, purpose, hash string, invalid error) (Verified, error) {
	var v Verified
	var t storage.EmailToken
	u, err := s.verifyEmail(ctx, func(ctx context.Context) (storage.EmailToken, error) {
		var err error
		t, err = s.store.UseEmailToken(ctx, purpose, hash, s.now())
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !sameHash(t.Hash, hash)) {
			return t, invalid
		}
		return t, err
	})
	if err != nil {
		return v, err
	}
	return Verified{User: u, AuthRequestID: t.AuthRequestID}, nil
}

// verifyEmail runs use (which uses a token) and marks the email the token
// was sent to verified, in one transaction, and removes the other
// verification tokens of the customer.
func (s *Service) verifyEmail(ctx context.Context, use func(ctx context.Context) (storage.EmailToken, error)) (storage.User, error) {
	var u storage.User
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		t, err := use(ctx)
		if err != nil {
			return err
		}
		u, err = s.accounts.VerifyEmail(ctx, t.UserID, t.Email, func(ctx context.Context) error {
			return s.store.DeleteEmailTokens(ctx, t.UserID, storage.PurposeVerifyLink, storage.PurposeVerifyCode)
		})
		if errors.Is(err, storage.ErrNotFound) {
			return ErrInvalidToken
		}
		return err
	})
	return u, err
}

// VerifySignUpCode checks the code typed on the "check your inbox" page
// of a sign-up. A sign-up that created no customer (the email had one)
// has no code to match: it is counted and refused like a wrong one.
func (s *Service) VerifySignUpCode(ctx context.Context, st State, code string) (Verified, error) {
	if st.UserID != "" {
		return s.VerifyCode(ctx, st.UserID, code)
	}
	subject := "signup:" + st.Email
	if err := s.checkCodes(ctx, subject); err != nil {
		return Verified{}, err
	}
	s.failCode(ctx, subject)
	return Verified{}, ErrInvalidCode
}
