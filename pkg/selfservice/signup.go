package selfservice

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/storage"
)

// SignUp is a sign-up form's content.
type SignUp struct {
	Email    string
	Password string
	Name     string
	// Language is the page's, for the mail.
	Language string
	// AuthRequestID is the authorization request the customer came from,
	// "" for none.
	AuthRequestID string
	// Attributes are the customer-editable attributes the form gave, as
	// text by name ("" for none given).
	Attributes map[string]string
}

// SignUp creates the customer (email not verified) and queues the
// verification mail in the same transaction. When a customer has the
// email already, nothing is created and that customer gets a mail saying
// someone tried: the caller shows the same "check your inbox" page for
// both, and SignUp returns the same (an empty user ID for the second).
// The password is checked against the policy, and hashed, in both cases,
// so neither answer nor time tells the two apart. A password the policy
// refuses, or a malformed email, is identity's *InvalidError; a missing
// or refused attribute an *attributes.ValueError.
func (s *Service) SignUp(ctx context.Context, in SignUp) (userID string, err error) {
	email, err := identity.NormalizeEmail(in.Email)
	if err != nil {
		return "", err
	}
	attrs, err := s.accounts.CheckSignUpAttributes(in.Attributes)
	if err != nil {
		return "", err
	}
	n := identity.NewUser{Email: email, Password: in.Password, Name: in.Name, Locale: in.Language, Attributes: attrs}
	u, err := s.accounts.SignUp(ctx, n, func(ctx context.Context, u storage.User) error {
		return s.sendVerification(ctx, u, in.AuthRequestID, in.Language)
	})
	if errors.Is(err, identity.ErrEmailTaken) {
		return "", s.accountExists(ctx, email, in.Language)
	}
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// accountExists mails the owner of an address someone tried to sign up
// with. The password was hashed already (accounts.SignUp prepares before
// it stores), as for a new customer.
func (s *Service) accountExists(ctx context.Context, email, lang string) error {
	u, err := s.store.GetUserByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("selfservice: read the customer who has the email: %w", err)
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		return s.mail.Queue(ctx, mail.Message{Kind: mail.AccountExists, To: u.Email, Language: language(u, lang),
			Data: mail.Data{Name: u.Name, Link: s.links.ResetRequest()}})
	})
}

// language is the customer's language, or the page's.
func language(u storage.User, page string) string {
	if u.Locale != "" {
		return u.Locale
	}
	return page
}
