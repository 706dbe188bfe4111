package federation

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// resolve finds or makes the customer an upstream account signs in:
//
//  1. An account linked already signs its customer in.
//  2. Otherwise, when a customer has the account's email, the account is
//     not linked silently: the customer must confirm by signing in once
//     with a way they already have (NeedsConfirmation), unless auto-linking
//     is on, the provider is trusted for emails and says this one is
//     verified, and the customer's email is verified too.
//  3. Otherwise a new customer is created with the account's profile, the
//     email marked verified when the provider is trusted for it and says
//     so, and the account linked, in one transaction.
//
// Two sign-ins racing to create the same customer or link end up at rule 1
// or 2 on the second try.
func (s *Service) resolve(ctx context.Context, res Result, binding string, up UpstreamIdentity) (Result, error) {
	p := res.Provider
	verified := p.TrustEmail && up.EmailVerified
	email := normalizeEmail(up.Email)
	for attempt := 0; ; attempt++ {
		link, err := s.store.GetIdentity(ctx, p.ID, up.Subject)
		if err == nil {
			s.touch(ctx, link, email)
			if verified && email != "" {
				if err := s.vouch(ctx, link.UserID, email); err != nil {
					return res, err
				}
			}
			res.Outcome, res.UserID = SignedIn, link.UserID
			return res, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return res, fmt.Errorf("federation: read link: %w", err)
		}
		if email != "" {
			existing, err := s.store.GetUserByEmail(ctx, email)
			switch {
			case err == nil:
				return s.existingEmail(ctx, res, binding, up, email, verified, existing)
			case !errors.Is(err, storage.ErrNotFound):
				return res, fmt.Errorf("federation: read customer by email: %w", err)
			}
		}
		if s.noSignUp {
			return res, ErrSignUpClosed
		}
		u := newCustomer(up, email, verified)
		newLink := s.newLink(p.ID, up.Subject, u.ID, email)
		err = s.store.InTx(ctx, func(ctx context.Context) error {
			if err := s.store.CreateUserWithIdentity(ctx, u, newLink); err != nil {
				return err
			}
			roles, err := s.store.AssignDefaultRoles(ctx, u.ID)
			if err != nil {
				return fmt.Errorf("assign default roles: %w", err)
			}
			return s.events.Record(ctx,
				events.New(ctx, events.UserCreated, u.ID, events.UserCreatedData{Email: u.Email, EmailVerified: u.EmailVerified, Provider: p.ID, Roles: roles}),
				linkedEvent(ctx, newLink))
		})
		if err == nil {
			res.Outcome, res.UserID, res.Created = SignedIn, u.ID, true
			return res, nil
		}
		if !errors.Is(err, storage.ErrAlreadyExists) || attempt > 0 {
			return res, fmt.Errorf("federation: create customer: %w", err)
		}
	}
}

// existingEmail handles an unlinked account whose email a customer has.
func (s *Service) existingEmail(ctx context.Context, res Result, binding string, up UpstreamIdentity, email string, verified bool, existing storage.User) (Result, error) {
	p := res.Provider
	if s.autoLink && verified && existing.EmailVerified {
		err := s.createLink(ctx, s.newLink(p.ID, up.Subject, existing.ID, email))
		switch {
		case err == nil:
			res.Outcome, res.UserID = SignedIn, existing.ID
			return res, nil
		case errors.Is(err, storage.ErrAlreadyExists):
			// The customer has another account at this provider: that is
			// the one they must use.
			return res, ErrLinkedElsewhere
		default:
			return res, fmt.Errorf("federation: link: %w", err)
		}
	}
	token := secret.NewRandomString(32)
	now := s.now().UTC()
	err := s.store.CreatePendingLink(ctx, storage.PendingLink{
		ID:             hashToken(token),
		Provider:       p.ID,
		Subject:        up.Subject,
		UserID:         existing.ID,
		Email:          email,
		BrowserBinding: binding,
		AuthRequestID:  res.AuthRequestID,
		CreatedAt:      now,
		ExpiresAt:      now.Add(pendingLinkLifetime),
	})
	if err != nil {
		return res, fmt.Errorf("federation: store pending link: %w", err)
	}
	res.Outcome, res.LinkToken = NeedsConfirmation, token
	return res, nil
}

// link links an upstream account to the signed-in customer (a link made
// from the account page). Linking an account the customer has linked
// already is no error.
func (s *Service) link(ctx context.Context, res Result, userID string, up UpstreamIdentity) (Result, error) {
	p := res.Provider
	res.UserID = userID
	existing, err := s.store.GetIdentity(ctx, p.ID, up.Subject)
	switch {
	case err == nil && existing.UserID == userID:
		s.touch(ctx, existing, normalizeEmail(up.Email))
		res.Outcome = Linked
		return res, nil
	case err == nil:
		return res, ErrLinkedElsewhere
	case !errors.Is(err, storage.ErrNotFound):
		return res, fmt.Errorf("federation: read link: %w", err)
	}
	err = s.createLink(ctx, s.newLink(p.ID, up.Subject, userID, normalizeEmail(up.Email)))
	switch {
	case err == nil:
		res.Outcome = Linked
		return res, nil
	case errors.Is(err, storage.ErrAlreadyExists):
		return res, ErrLinkedElsewhere
	default:
		return res, fmt.Errorf("federation: link: %w", err)
	}
}

// PendingLink is a link waiting for the customer's confirmation, with its
// provider.
type PendingLink struct {
	storage.PendingLink
	Provider Provider
}

// PendingLink returns the pending link the token names if this browser may
// confirm it; ErrState otherwise. It does not use it up.
func (s *Service) PendingLink(ctx context.Context, token, binding string) (PendingLink, error) {
	if token == "" {
		return PendingLink{}, ErrState
	}
	l, err := s.store.GetPendingLink(ctx, hashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return PendingLink{}, ErrState
	}
	if err != nil {
		return PendingLink{}, fmt.Errorf("federation: read pending link: %w", err)
	}
	p, ok := s.byID[l.Provider]
	if !ok || subtle.ConstantTimeCompare([]byte(l.BrowserBinding), []byte(binding)) != 1 {
		return PendingLink{}, ErrState
	}
	return PendingLink{PendingLink: l, Provider: p}, nil
}

// ConfirmLink links the pending link's account to userID, who has just
// signed in another way in this browser, and returns the linked provider.
// The pending link is used up whatever happens. ErrState when the token is
// unknown, used, expired or another browser's; ErrLinkMismatch when userID
// is not the customer the link was for; ErrLinkedElsewhere when the account
// or the customer got another link meanwhile.
func (s *Service) ConfirmLink(ctx context.Context, token, binding, userID string) (Provider, error) {
	if token == "" {
		return Provider{}, ErrState
	}
	return s.confirm(ctx, hashToken(token), binding, userID)
}

func (s *Service) confirm(ctx context.Context, id, binding, userID string) (Provider, error) {
	l, err := s.store.TakePendingLink(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Provider{}, ErrState
	}
	if err != nil {
		return Provider{}, fmt.Errorf("federation: take pending link: %w", err)
	}
	p, ok := s.byID[l.Provider]
	if !ok || subtle.ConstantTimeCompare([]byte(l.BrowserBinding), []byte(binding)) != 1 {
		return Provider{}, ErrState
	}
	if l.UserID != userID {
		return Provider{}, ErrLinkMismatch
	}
	err = s.createLink(ctx, s.newLink(p.ID, l.Subject, userID, l.Email))
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, storage.ErrAlreadyExists):
		return Provider{}, ErrLinkedElsewhere
	default:
		return Provider{}, fmt.Errorf("federation: link: %w", err)
	}
}

// LinkedIdentity is one of a customer's links, with its provider when that
// is still enabled.
type LinkedIdentity struct {
	storage.Identity
	// Name is the provider's name, or its ID when it is no longer enabled.
	Name string
	// Enabled says the provider can still sign the customer in.
	Enabled bool
}

// Identities returns the customer's links ordered by provider ID.
func (s *Service) Identities(ctx context.Context, userID string) ([]LinkedIdentity, error) {
	links, err := s.store.ListIdentities(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("federation: list links: %w", err)
	}
	out := make([]LinkedIdentity, 0, len(links))
	for _, l := range links {
		li := LinkedIdentity{Identity: l, Name: l.Provider}
		if p, ok := s.byID[l.Provider]; ok {
			li.Name, li.Enabled = p.Name, true
		}
		out = append(out, li)
	}
	return out, nil
}

// Unlink removes the customer's link to the provider, unless it is the last
// way they can sign in: a customer without a password keeps at least one
// link to an enabled provider (ErrLastMethod). The rule is checked in the
// same transaction as the removal, so two concurrent removals cannot both
// pass it; identity.unlinked is recorded in it too.
func (s *Service) Unlink(ctx context.Context, userID, providerID string) error {
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		err := s.store.DeleteIdentity(ctx, userID, providerID, func(u storage.User, remaining []storage.Identity) error {
			providers := make([]string, 0, len(remaining))
			for _, l := range remaining {
				providers = append(providers, l.Provider)
			}
			if !s.canSignIn(u, providers) {
				return ErrLastMethod
			}
			return nil
		})
		if err != nil {
			return err
		}
		return s.events.Record(ctx, events.New(ctx, events.IdentityUnlinked, userID, events.IdentityData{Provider: providerID}))
	})
	if errors.Is(err, ErrLastMethod) {
		return ErrLastMethod
	}
	if err != nil {
		return fmt.Errorf("federation: unlink %s: %w", providerID, err)
	}
	return nil
}

// CanUnlink reports whether the customer, whose links are links, may remove
// the link to the provider now: the rule Unlink enforces.
func (s *Service) CanUnlink(u storage.User, links []LinkedIdentity, providerID string) bool {
	providers := make([]string, 0, len(links))
	for _, l := range links {
		if l.Provider != providerID {
			providers = append(providers, l.Provider)
		}
	}
	return s.canSignIn(u, providers)
}

// canSignIn reports whether a customer with links to the providers can
// still sign in: with a password, or through an enabled provider.
func (s *Service) canSignIn(u storage.User, providers []string) bool {
	if u.PasswordHash != "" {
		return true
	}
	for _, id := range providers {
		if _, ok := s.byID[id]; ok {
			return true
		}
	}
	return false
}

// touch records a sign-in through a link and the email the provider
// reported; a failure only costs the account page a fresher date.
func (s *Service) touch(ctx context.Context, link storage.Identity, email string) {
	now := s.now().UTC()
	err := s.store.UpdateIdentity(ctx, link.Provider, link.Subject, func(l storage.Identity) (storage.Identity, error) {
		l.LastUsedAt = now
		if email != "" {
			l.Email = email
		}
		return l, nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "recording a federated sign-in", "provider", link.Provider, "error", err.Error())
	}
}

// vouch marks the customer's email verified when a provider trusted for
// emails says, at a sign-in with a linked account, that this very address
// is verified: the provider proved what a verification mail would
// (docs/self-service.md). user.updated and user.email_verified are
// recorded in the change's transaction; an email already verified, or
// another than the provider's, is left alone.
func (s *Service) vouch(ctx context.Context, userID, email string) error {
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		changed := false
		err := s.store.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
			if u.EmailVerified || !strings.EqualFold(u.Email, email) {
				return u, nil
			}
			u.EmailVerified, changed = true, true
			return u, nil
		})
		if err != nil || !changed {
			return err
		}
		return s.events.Record(ctx,
			events.New(ctx, events.UserUpdated, userID, events.UserUpdatedData{Fields: []string{"email_verified"}}),
			events.New(ctx, events.UserEmailVerified, userID, events.UserEmailVerifiedData{Email: email}))
	})
	if err != nil {
		return fmt.Errorf("federation: mark the email verified: %w", err)
	}
	return nil
}

// createLink stores a link and records identity.linked in one
// transaction.
func (s *Service) createLink(ctx context.Context, link storage.Identity) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateIdentity(ctx, link); err != nil {
			return err
		}
		return s.events.Record(ctx, linkedEvent(ctx, link))
	})
}

// linkedEvent is the identity.linked event of a new link.
func linkedEvent(ctx context.Context, link storage.Identity) storage.Event {
	return events.New(ctx, events.IdentityLinked, link.UserID, events.IdentityData{Provider: link.Provider, Email: link.Email})
}

func (s *Service) newLink(provider, subject, userID, email string) storage.Identity {
	now := s.now().UTC()
	return storage.Identity{Provider: provider, Subject: subject, UserID: userID, Email: email, CreatedAt: now, LastUsedAt: now}
}

// newCustomer is a customer made from an upstream account's profile. Values
// that are not what their claim should be are dropped rather than stored.
func newCustomer(up UpstreamIdentity, email string, verified bool) storage.User {
	u := storage.User{
		ID:         uuid.NewString(),
		Email:      email,
		Name:       profileText(up.Name),
		GivenName:  profileText(up.GivenName),
		FamilyName: profileText(up.FamilyName),
		Picture:    pictureURL(up.Picture),
		Locale:     localeTag(up.Locale),
	}
	u.EmailVerified = email != "" && verified
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	return u
}

// normalizeEmail returns a usable email lower-cased, or "".
func normalizeEmail(email string) string {
	e, err := identity.NormalizeEmail(email)
	if err != nil {
		return ""
	}
	return e
}

// maxProfileText caps a name claim, in characters.
const maxProfileText = 200

func profileText(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	if utf8.RuneCountInString(s) > maxProfileText {
		s = string([]rune(s)[:maxProfileText])
	}
	return s
}

// pictureURL keeps an absolute https URL of reasonable length.
func pictureURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(s) > 2048 {
		return ""
	}
	return u.String()
}

// localeTag keeps a well-formed BCP 47 tag ("en", "pt-BR"), or Facebook's
// and others' underscore form turned into one.
func localeTag(s string) string {
	if s == "" || len(s) > 35 {
		return ""
	}
	tag, err := language.Parse(strings.ReplaceAll(s, "_", "-"))
	if err != nil {
		return ""
	}
	return tag.String()
}
