package federation

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Lifetimes of what the flow stores.
const (
	// stateLifetime is how long a customer has at the provider.
	stateLifetime = 15 * time.Minute
	// pendingLinkLifetime is how long a customer has to confirm a link.
	pendingLinkLifetime = 15 * time.Minute
)

// Store is what the flow reads and writes.
type Store interface {
	storage.UserStore
	storage.IdentityStore
	storage.Transactor
	// AssignDefaultRoles gives a customer created by a first sign-in the
	// default roles (storage.RoleStore).
	AssignDefaultRoles(ctx context.Context, userID string) ([]string, error)
}

// Options configure a Service.
type Options struct {
	// Store keeps customers, links and sign-ins in progress.
	Store Store
	// Providers are the enabled providers, in the order their buttons show.
	Providers []Provider
	// AutoLinkVerifiedEmail links an upstream account to the customer who
	// has its email without asking them to confirm, when the provider is
	// trusted for emails, says the email is verified, and the customer's
	// email is verified too. Off by default: a provider that is wrong about
	// an email would otherwise hand over the account.
	AutoLinkVerifiedEmail bool
	// Logger receives the detail of failed sign-ins; nil discards. It never
	// gets a code, token or state.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Events records identity.linked, identity.unlinked and the
	// user.created of a customer made from an upstream account, each in
	// the transaction of its change; nil records nothing (tests only).
	Events events.Sink
	// NoSignUp keeps a first sign-in with a provider from creating a
	// customer (ErrSignUpClosed); linked accounts and links to existing
	// customers work as before.
	NoSignUp bool
}

// Service runs sign-ins at upstream providers and keeps the links.
type Service struct {
	store     Store
	providers []Provider
	byID      map[string]Provider
	autoLink  bool
	log       *slog.Logger
	now       func() time.Time
	events    events.Sink
	noSignUp  bool
}

// New returns a Service. It fails when a provider has an invalid or
// repeated ID, no name or no connector.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("federation: no store")
	}
	s := &Service{
		store:    opts.Store,
		byID:     make(map[string]Provider, len(opts.Providers)),
		autoLink: opts.AutoLinkVerifiedEmail,
		log:      opts.Logger,
		now:      opts.Now,
		events:   events.SinkOr(opts.Events),
		noSignUp: opts.NoSignUp,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, p := range opts.Providers {
		switch {
		case !validID(p.ID):
			return nil, fmt.Errorf("federation: provider ID %q: want lower-case letters, digits and dashes, at most 32", p.ID)
		case p.Name == "":
			return nil, fmt.Errorf("federation: provider %s has no name", p.ID)
		case p.Connector == nil:
			return nil, fmt.Errorf("federation: provider %s has no connector", p.ID)
		}
		if _, dup := s.byID[p.ID]; dup {
			return nil, fmt.Errorf("federation: provider ID %q is used twice", p.ID)
		}
		s.byID[p.ID] = p
		s.providers = append(s.providers, p)
	}
	return s, nil
}

// Providers returns the enabled providers in their configured order.
func (s *Service) Providers() []Provider { return s.providers }

// Provider returns the enabled provider with the ID.
func (s *Service) Provider(id string) (Provider, bool) {
	p, ok := s.byID[id]
	return p, ok
}

// BeginRequest starts a sign-in at a provider.
type BeginRequest struct {
	// Provider is the provider's ID.
	Provider string
	// Purpose is storage.FederationLogin, FederationAccount or
	// FederationLink.
	Purpose string
	// BrowserBinding is the hash of the browser's device cookie; only this
	// browser may finish the sign-in.
	BrowserBinding string
	// AuthRequestID is the pending authorization request (FederationLogin).
	AuthRequestID string
	// UserID is the signed-in customer (FederationLink).
	UserID string
	// LinkToken, when set, is a pending link's token that this sign-in
	// confirms if it signs in the customer the link is for.
	LinkToken string
	// Reauthenticate and MaxAge carry the app's prompt=login and max_age to
	// the provider (see Auth).
	Reauthenticate bool
	MaxAge         string
}

// Begin stores a new sign-in and returns the provider's URL to send the
// browser to. The state, nonce and PKCE verifier are random, kept
// server-side, and the state is stored only as its SHA-256.
func (s *Service) Begin(ctx context.Context, b BeginRequest) (string, error) {
	p, ok := s.byID[b.Provider]
	if !ok {
		return "", ErrUnknownProvider
	}
	switch b.Purpose {
	case storage.FederationLogin, storage.FederationAccount, storage.FederationLink:
	default:
		return "", fmt.Errorf("federation: begin: unknown purpose %q", b.Purpose)
	}
	if b.BrowserBinding == "" {
		return "", errors.New("federation: begin: no browser binding")
	}
	a := Auth{
		State:          secret.NewRandomString(32),
		Nonce:          secret.NewRandomString(32),
		CodeVerifier:   oauth2.GenerateVerifier(),
		Reauthenticate: b.Reauthenticate,
		MaxAge:         b.MaxAge,
	}
	authURL, session, err := p.Connector.Begin(ctx, a)
	if err != nil {
		s.log.WarnContext(ctx, "starting a federated sign-in failed", "provider", p.ID, "error", Redact(err))
		return "", fmt.Errorf("%w: %s: begin", ErrUpstream, p.ID)
	}
	now := s.now().UTC()
	st := storage.FederationState{
		ID:             hashToken(a.State),
		Provider:       p.ID,
		Purpose:        b.Purpose,
		Session:        session,
		Nonce:          a.Nonce,
		CodeVerifier:   a.CodeVerifier,
		BrowserBinding: b.BrowserBinding,
		AuthRequestID:  b.AuthRequestID,
		UserID:         b.UserID,
		CreatedAt:      now,
		ExpiresAt:      now.Add(stateLifetime),
	}
	if b.LinkToken != "" {
		st.PendingLinkID = hashToken(b.LinkToken)
	}
	if err := s.store.CreateFederationState(ctx, st); err != nil {
		return "", fmt.Errorf("federation: begin: %w", err)
	}
	return authURL, nil
}

// StashCallback keeps the parameters of a callback that came as a
// cross-site POST (response_mode=form_post, which Apple uses) on the sign-in
// it names, and returns its state, so that the browser can be sent back with
// a same-site GET that carries its cookies. ErrState when the state matches
// no live sign-in or a callback was stashed already.
func (s *Service) StashCallback(ctx context.Context, params url.Values) (string, error) {
	state := params.Get("state")
	if state == "" {
		return "", ErrState
	}
	err := s.store.SetFederationCallback(ctx, hashToken(state), params.Encode())
	if errors.Is(err, storage.ErrNotFound) {
		return "", ErrState
	}
	if err != nil {
		return "", fmt.Errorf("federation: stash callback: %w", err)
	}
	return state, nil
}

// CallbackRequest is a provider's callback.
type CallbackRequest struct {
	// Provider is the ID in the callback's path.
	Provider string
	// Params are the callback's query or form parameters.
	Params url.Values
	// BrowserBinding is the hash of the device cookie the callback came
	// with.
	BrowserBinding string
	// SessionUserID is the customer signed in in this browser, or "".
	SessionUserID string
}

// Outcome is how a sign-in at a provider ended.
type Outcome int

// Outcomes of Finish.
const (
	// SignedIn: Result.UserID is signed in by the provider.
	SignedIn Outcome = iota + 1
	// NeedsConfirmation: the provider's email belongs to a customer who must
	// confirm the link by signing in once with a way they already have;
	// Result.LinkToken names the pending link.
	NeedsConfirmation
	// Linked: the upstream account was linked to the signed-in customer
	// (storage.FederationLink).
	Linked
)

// Result is what a finished sign-in at a provider gives.
type Result struct {
	Outcome Outcome
	// Purpose and AuthRequestID are the sign-in's, so the caller can send
	// the customer back where they started. They are set whenever the
	// callback matched a sign-in, even when Finish fails.
	Purpose       string
	AuthRequestID string
	// Provider is the provider the customer signed in with.
	Provider Provider
	// UserID is the customer (SignedIn, Linked).
	UserID string
	// Created says a new customer was created (SignedIn).
	Created bool
	// ConfirmedLink is the ID of the provider whose pending link this
	// sign-in confirmed, or "".
	ConfirmedLink string
	// LinkToken names the pending link (NeedsConfirmation).
	LinkToken string
}

// Finish completes a sign-in from the provider's callback: it takes the
// sign-in the state names (once: a state cannot be replayed), checks that
// this browser started it for this provider, turns an error parameter into
// ErrCancelled or ErrUpstream, has the connector exchange the code, and
// resolves the upstream account to a customer (see resolve).
//
// The state is looked up by its SHA-256, so no comparison of the secret
// itself can leak through timing; the browser binding is compared in
// constant time.
func (s *Service) Finish(ctx context.Context, c CallbackRequest) (Result, error) {
	p, ok := s.byID[c.Provider]
	if !ok {
		return Result{}, ErrUnknownProvider
	}
	state := c.Params.Get("state")
	if state == "" {
		return Result{}, ErrState
	}
	st, err := s.store.TakeFederationState(ctx, hashToken(state))
	if errors.Is(err, storage.ErrNotFound) {
		return Result{}, ErrState
	}
	if err != nil {
		return Result{}, fmt.Errorf("federation: finish: %w", err)
	}
	res := Result{Purpose: st.Purpose, AuthRequestID: st.AuthRequestID, Provider: p}
	if st.Provider != p.ID || subtle.ConstantTimeCompare([]byte(st.BrowserBinding), []byte(c.BrowserBinding)) != 1 {
		return res, ErrState
	}
	if st.Purpose == storage.FederationLink && (c.SessionUserID == "" || c.SessionUserID != st.UserID) {
		return res, ErrState
	}
	params := c.Params
	if !params.Has("code") && !params.Has("error") && st.Callback != "" {
		if params, err = url.ParseQuery(st.Callback); err != nil {
			return res, fmt.Errorf("%w: %s: stored callback: %v", ErrUpstream, p.ID, err)
		}
	}
	if code := params.Get("error"); code != "" {
		if cancelled(code) {
			return res, ErrCancelled
		}
		s.log.WarnContext(ctx, "the provider answered with an error", "provider", p.ID, "error", errorCode(code))
		return res, fmt.Errorf("%w: %s answered %s", ErrUpstream, p.ID, errorCode(code))
	}
	if params.Get("code") == "" {
		s.log.WarnContext(ctx, "the provider's callback has no code", "provider", p.ID)
		return res, fmt.Errorf("%w: %s: no code", ErrUpstream, p.ID)
	}
	a := Auth{State: state, Nonce: st.Nonce, CodeVerifier: st.CodeVerifier}
	up, err := p.Connector.Finish(ctx, a, st.Session, params)
	if err == nil && up.Subject == "" {
		err = errors.New("the provider named no account")
	}
	if err != nil {
		s.log.WarnContext(ctx, "finishing a federated sign-in failed", "provider", p.ID, "error", Redact(err))
		return res, fmt.Errorf("%w: %s", ErrUpstream, p.ID)
	}
	if st.Purpose == storage.FederationLink {
		return s.link(ctx, res, st.UserID, up)
	}
	res, err = s.resolve(ctx, res, c.BrowserBinding, up)
	if err != nil || res.Outcome != SignedIn || st.PendingLinkID == "" {
		return res, err
	}
	// This sign-in may confirm a link the customer was asked to confirm.
	confirmed, err := s.confirm(ctx, st.PendingLinkID, c.BrowserBinding, res.UserID)
	switch {
	case err == nil:
		res.ConfirmedLink = confirmed.ID
	case errors.Is(err, ErrState), errors.Is(err, ErrLinkMismatch), errors.Is(err, ErrLinkedElsewhere):
		s.log.InfoContext(ctx, "a sign-in did not confirm the pending link", "provider", p.ID, "reason", err.Error())
	default:
		return res, err
	}
	return res, nil
}

// cancelled reports whether a callback's error code means the customer
// declined: OAuth 2.0's access_denied (Google, Facebook, GitHub, OpenID
// providers) or Apple's user_cancelled_authorize.
func cancelled(code string) bool {
	switch code {
	case "access_denied", "user_cancelled_authorize", "user_denied":
		return true
	}
	return false
}

// errorCode returns an error parameter fit for a log line: the characters
// RFC 6749 allows in an error code, at most 64 of them.
func errorCode(code string) string {
	var b strings.Builder
	for _, c := range code {
		if b.Len() >= 64 {
			break
		}
		if c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// hashToken is how a state or a link token is kept server-side.
func hashToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// AuthOrigins returns the origins of the enabled providers' authorization
// endpoints, for the form-action policy of pages with provider buttons.
func (s *Service) AuthOrigins() []string {
	var out []string
	for _, p := range s.providers {
		if o := p.Connector.AuthOrigin(); o != "" {
			out = append(out, o)
		}
	}
	return out
}
