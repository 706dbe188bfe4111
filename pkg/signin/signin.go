// Package signin is the one door every sign-in goes through. A page
// checks a first factor (a password, an upstream provider, the account
// page's sign-in, the sign-in that confirms a link) and hands the
// customer's ID to Service.FirstFactor, which decides what is still
// needed — from the customer's enrolment, the operator's MFA policy and
// what the app demands (pkg/signin/acr) — and answers with the next step:
// done (the browser session is started, with its auth_time, amr, acr, sid
// and idp, and user.login.succeeded recorded in the same transaction), or
// a second factor to ask, or a second factor to enrol first. Between the
// steps the sign-in's state is a token signed for the browser, never a
// session, so an abandoned or failed second step leaves no session.
//
// A method is a Method value: the password, the provider, the TOTP and
// the recovery code are four. A new one (a passkey) is a first factor when
// its page calls FirstFactor with it, and a second factor when it is
// added to Options.SecondFactors with its Verifier; a method whose Class
// is Multi or stronger on its own satisfies a demand without a second
// factor.
//
// It knows nothing of HTTP: the pages pass a Browser, which starts the
// session cookie, and get back the URL to send the browser to.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Method is one way of proving who one is, as the pipeline sees it.
type Method struct {
	// Name names it in user.login.* events and in Options.SecondFactors:
	// "pwd", "fed", "totp", "recovery_code".
	Name string
	// AMR are the RFC 8176 values a use of it adds to the session.
	AMR []string
	// Class is what it reaches on its own, as a first factor: acr.Single,
	// or acr.PhishingResistant for a user-verifying passkey (which then
	// needs no second factor).
	Class string
}

// The built-in methods.
var (
	// Password is a password (RFC 8176 "pwd").
	Password = Method{Name: accounts.MethodPassword, AMR: []string{"pwd"}, Class: acr.Single}
	// Federated is an upstream identity provider ("fed").
	Federated = Method{Name: accounts.MethodFederated, AMR: []string{federation.AMRFederated}, Class: acr.Single}
	// TOTP is an authenticator app's code (RFC 8176 "otp").
	TOTP = Method{Name: "totp", AMR: []string{"otp"}}
	// RecoveryCode is a single-use recovery code: a one-time password in
	// RFC 8176's sense ("otp"); the events name it apart.
	RecoveryCode = Method{Name: "recovery_code", AMR: []string{"otp"}}
	// EmailCode is a one-time code mailed to a verified email, used in
	// place of a password (RFC 8176 "otp"). A first factor only: it is
	// never among Options.SecondFactors (NIST SP 800-63B §5.1.3.1).
	EmailCode = Method{Name: "email_code", AMR: []string{"otp"}, Class: acr.Single}
	// RememberedDevice stands in for the second factor in a browser the
	// customer asked to be remembered after one (mfa_remember_device_days).
	// It has no AMR: this sign-in checked no second factor, and amr lists
	// the methods used in this authentication (RFC 8176 §1, OpenID Connect
	// Core §2), so it claims neither "otp" nor "mfa". The session still
	// reaches acr.Multi, as docs/mfa.md defines class 2.
	RememberedDevice = Method{Name: mfa.MethodRememberedDevice}
)

// amrMFA is RFC 8176's "mfa": more than one factor was used.
const amrMFA = "mfa"

// Verifier checks a proof of a second factor the customer enrolled. It
// returns mfa.ErrInvalidCode for a wrong proof, *mfa.ThrottledError when
// too many were wrong, mfa.ErrNotEnrolled when the customer has none.
type Verifier func(ctx context.Context, userID, proof string) error

// SecondFactor is a second-factor method and its check.
type SecondFactor struct {
	Method Method
	Verify Verifier
	// VerifyAMR, when set, is used instead of Verify: a check whose RFC
	// 8176 methods depend on the proof (a passkey: "hwk" or "swk", and
	// "user" when it verified the user); they replace Method.AMR.
	VerifyAMR func(ctx context.Context, userID, proof string) ([]string, error)
}

// Store is what the pipeline reads and writes itself.
type Store interface {
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error)
	CachedClient(ctx context.Context, id string) (storage.Client, error)
	SetAuthRequestSession(ctx context.Context, id, sessionID string) error
}

// Browser is the browser a sign-in happens in, as pkg/ui hands it over.
type Browser interface {
	// Device is the hash of the browser's device cookie.
	Device() string
	// IP is the browser's address, for events.
	IP() string
	// UserAgent is the browser's User-Agent (session.UserAgent), kept
	// with a remembered browser.
	UserAgent() string
	// Current returns the browser's live session, or session.ErrNoSession.
	Current(ctx context.Context) (storage.BrowserSession, error)
	// Begin ends the browser's previous session and starts a new one
	// (session.Manager.Begin).
	Begin(ctx context.Context, a session.Authentication) (storage.BrowserSession, error)
}

// Paths are the pages the pipeline sends the browser to.
type Paths struct {
	// Resume is the authorization endpoint's resume URL ("?auth=ID" is
	// appended); Account the account page.
	Resume  string
	Account string
	// SecondFactor and Enrol are the pages that ask for a second factor
	// and enrol one ("?pending=TOKEN" is appended).
	SecondFactor string
	Enrol        string
}

// Options are a Service's dependencies.
type Options struct {
	Store    Store
	Accounts *accounts.Service
	Sessions *session.Manager
	// MFA enrols second factors.
	MFA *mfa.Service
	// SecondFactors are the second factors by Method.Name ("totp",
	// "recovery_code"; a passkey later).
	SecondFactors map[string]SecondFactor
	// Federation confirms the pending links a sign-in was asked to
	// confirm; nil when no provider is enabled.
	Federation *federation.Service
	// ACR is the policy and the rules of demands.
	ACR acr.Rules
	// Key signs the pending state (secret.Keys.SignInKey).
	Key   []byte
	Paths Paths
	// Lifetime bounds the time from the first factor to the last; 0
	// means ten minutes.
	Lifetime time.Duration
	// ReauthMaxAge is how recent a sign-in must be for a sensitive change
	// (removing a second factor, new recovery codes).
	ReauthMaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// OnNewDevice, when set, runs in the transaction that starts the
	// session of a sign-in whose first factor came from a browser new to
	// the customer (FirstFactor.NewDevice): the "new sign-in" mail.
	OnNewDevice func(ctx context.Context, userID, ip string) error
}

// Service is the sign-in pipeline.
type Service struct {
	store     Store
	accounts  *accounts.Service
	sessions  *session.Manager
	mfa       *mfa.Service
	factors   map[string]SecondFactor
	fed       *federation.Service
	rules     acr.Rules
	key       []byte
	paths     Paths
	lifetime  time.Duration
	reauthAge time.Duration
	now       func() time.Time
	log       *slog.Logger
	newDevice func(ctx context.Context, userID, ip string) error
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{
		store: opts.Store, accounts: opts.Accounts, sessions: opts.Sessions, mfa: opts.MFA,
		factors: opts.SecondFactors, fed: opts.Federation, rules: opts.ACR, key: opts.Key,
		paths: opts.Paths, lifetime: opts.Lifetime, reauthAge: opts.ReauthMaxAge, now: opts.Now, log: opts.Logger,
		newDevice: opts.OnNewDevice,
	}
	if s.lifetime <= 0 {
		s.lifetime = lifetimeDefault
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Rules returns the demand rules, for the pages.
func (s *Service) Rules() acr.Rules { return s.rules }

// Step is what comes next in a sign-in.
type Step int

// The steps.
const (
	// Done: the session is started (or stepped up); go to Next.URL.
	Done Step = iota
	// AskSecondFactor: the customer enrolled one; Next.URL asks for it.
	AskSecondFactor
	// AskEnrolment: a second factor is needed and the customer has none;
	// Next.URL walks them through enrolment.
	AskEnrolment
)

// Next is the pipeline's answer: where the browser goes next.
type Next struct {
	Step Step
	// URL is where to send the browser.
	URL string
	// Pending is the signed state the next page carries (not Done).
	Pending string
	// Session is the started or stepped-up session (Done).
	Session storage.BrowserSession
	// Linked says the sign-in confirmed a pending link (Done).
	Linked bool
	// RecoveryCodes are the codes of a first enrolment, to show once
	// before the browser goes on to URL (Done after an enrolment).
	RecoveryCodes []string
}

// FirstFactor is a verified first factor.
type FirstFactor struct {
	// User is the customer; when only UserID is known the pipeline reads
	// the customer (a password sign-in has the row already).
	User   *storage.User
	UserID string
	Method Method
	// IDP is the upstream provider of Federated.
	IDP string
	// AuthRequestID is the authorization request signed in for, "" for
	// the account page.
	AuthRequestID string
	// LinkToken is a pending link to confirm when the sign-in finishes
	// ("" for none).
	LinkToken string
	// NewDevice says the browser never signed in to the customer before
	// (Options.OnNewDevice).
	NewDevice bool
}

// FirstFactor continues a sign-in after its first factor: the customer,
// the app's demand and the policy decide whether a second factor is
// asked, enrolled, or not needed, in which case the session starts. A
// disabled customer is refused with ErrDisabled, whatever the method. A
// customer without a second factor whom nothing demands one of costs no
// read beyond the ones a sign-in made before (the customer's row says
// whether they enrolled).
func (s *Service) FirstFactor(ctx context.Context, b Browser, in FirstFactor) (Next, error) {
	var u storage.User
	switch {
	case in.User != nil:
		u = *in.User
	default:
		var err error
		if u, err = s.store.GetUser(ctx, in.UserID); err != nil {
			return Next{}, fmt.Errorf("signin: read customer: %w", err)
		}
	}
	p := pending{UserID: u.ID, First: in.Method.Name, AMR: in.Method.AMR, IDP: in.IDP, AuthID: in.AuthRequestID, Link: in.LinkToken, NewDevice: in.NewDevice}
	demand, clientID, err := s.demandOf(ctx, in.AuthRequestID)
	if err != nil {
		return Next{}, err
	}
	if u.Disabled {
		s.refuseDisabled(ctx, b, u.ID, clientID, in)
		return Next{}, ErrDisabled
	}
	p.ClientID = clientID
	class := in.Method.Class
	switch {
	case u.MFA && rankAtLeast(class, acr.Multi):
		// A method strong on its own (a user-verifying passkey).
	case u.MFA:
		remembered, err := s.remembered(ctx, b, u.ID, in.AuthRequestID, demand)
		if err != nil {
			return Next{}, err
		}
		if remembered {
			return s.finish(ctx, b, p, class, RememberedDevice, false)
		}
		return s.ask(p, b, AskSecondFactor), nil
	case !demand.Satisfied(class):
		p.Enrol = true
		return s.ask(p, b, AskEnrolment), nil
	}
	return s.finish(ctx, b, p, class, Method{}, false)
}

// remembered says a sign-in may skip the second factor because the
// customer asked this browser to be remembered after one: only for an
// app's request (the account page, where second factors are removed,
// always asks), never for a demand above acr.Multi (phishing resistance
// needs the passkey now), never for prompt=login, and never when the
// second factor on this browser is older than max_age (OpenID Connect
// Core §3.1.2.1: the app asked for an authentication that recent, both
// factors of it).
func (s *Service) remembered(ctx context.Context, b Browser, userID, authID string, demand acr.Demand) (bool, error) {
	if authID == "" || s.mfa == nil || demand.Login || !demand.Satisfied(acr.Multi) {
		return false, nil
	}
	age, ok, err := s.mfa.RememberedFor(ctx, userID, b.Device())
	if err != nil || !ok {
		return false, err
	}
	if demand.MaxAge >= 0 && age > time.Duration(demand.MaxAge)*time.Second {
		return false, nil
	}
	return true, nil
}

// ErrDisabled refuses the sign-in of a customer an operator disabled
// (accounts.DisableCustomer). Pages show a neutral message that does not
// say whether the first factor was right: the password form answers as
// for a wrong password.
var ErrDisabled = errors.New("signin: the customer is disabled")

// refuseDisabled records the refused sign-in as user.login.failed with
// the reason "disabled"; a failure to record it is only logged.
func (s *Service) refuseDisabled(ctx context.Context, b Browser, userID, clientID string, in FirstFactor) {
	err := s.accounts.SignInFailed(accounts.Actor(ctx, ""), userID, "", "disabled", accounts.SignIn{
		Method: in.Method.Name, Provider: in.IDP, ClientID: clientID, IP: b.IP(),
	})
	if err != nil {
		s.log.WarnContext(ctx, "recording a refused sign-in", "error", err.Error())
	}
}

func rankAtLeast(class, than string) bool { return acr.Demand{Level: than}.Satisfied(class) }

// demandOf reads the demand of an authorization request, or the account
// page's. A request that cannot be met was refused by the authorization
// endpoint; if it changed meanwhile the policy's level is asked, and the
// endpoint refuses it when the browser comes back.
func (s *Service) demandOf(ctx context.Context, authID string) (acr.Demand, string, error) {
	if authID == "" {
		return s.rules.AccountDemand(), "", nil
	}
	ar, err := s.store.GetAuthRequest(ctx, authID)
	if err != nil {
		return acr.Demand{}, "", fmt.Errorf("signin: read authorization request: %w", err)
	}
	form, _ := url.ParseQuery(ar.Form)
	client, err := s.store.CachedClient(ctx, ar.ClientID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return acr.Demand{}, "", fmt.Errorf("signin: read client: %w", err)
	}
	d, err := s.rules.Demand(form, client)
	if errors.Is(err, acr.ErrUnmet) {
		return s.rules.AccountDemand(), ar.ClientID, nil
	}
	return d, ar.ClientID, err
}

// ask seals the state and names the page of the step.
func (s *Service) ask(p pending, b Browser, step Step) Next {
	token := s.seal(p, b.Device())
	path := s.paths.SecondFactor
	if step == AskEnrolment {
		path = s.paths.Enrol
	}
	return Next{Step: step, URL: path + "?" + url.Values{"pending": {token}}.Encode(), Pending: token}
}

// finish starts the session (or steps up the live one) with every method
// used, records user.login.succeeded in the same transaction, confirms a
// pending link, ties the session to the authorization request, and says
// where to go. second is the second factor's method, zero for none;
// remember asks that this browser be remembered for it.
func (s *Service) finish(ctx context.Context, b Browser, p pending, class string, second Method, remember bool) (Next, error) {
	amr := slices.Clone(p.AMR)
	idp := p.IDP
	linked := false
	if p.Link != "" && s.fed != nil {
		prov, err := s.fed.ConfirmLink(accounts.Actor(ctx, p.UserID), p.Link, b.Device(), p.UserID)
		switch {
		case err == nil:
			amr, idp, linked = appendNew(amr, federation.AMRFederated), prov.ID, true
		case errors.Is(err, federation.ErrState), errors.Is(err, federation.ErrLinkMismatch), errors.Is(err, federation.ErrLinkedElsewhere):
			// The sign-in stands without the link.
			s.log.InfoContext(ctx, "a sign-in did not confirm the pending link", "reason", err.Error())
		default:
			return Next{}, fmt.Errorf("signin: confirm link: %w", err)
		}
	}
	var live storage.BrowserSession
	if p.StepUp {
		var err error
		if live, err = b.Current(ctx); err != nil || live.UserID != p.UserID {
			return Next{}, ErrExpired
		}
		amr, idp = appendNew(live.AMR, amr...), live.IDP
	}
	if second.Name != "" {
		if len(second.AMR) > 0 {
			amr = appendNew(amr, second.AMR...)
			amr = appendNew(amr, amrMFA)
		}
		if !rankAtLeast(class, acr.Multi) {
			class = acr.Multi
		}
	}
	in := accounts.SignIn{
		Method: p.First, Provider: p.IDP, ClientID: p.ClientID, IP: b.IP(),
		SecondFactor: second.Name, StepUp: p.StepUp, AMR: amr, ACR: class,
	}
	var bs storage.BrowserSession
	err := s.accounts.SignedIn(accounts.Actor(ctx, p.UserID), p.UserID, in, func(ctx context.Context) (err error) {
		if p.NewDevice && s.newDevice != nil {
			if err := s.newDevice(ctx, p.UserID, b.IP()); err != nil {
				return err
			}
		}
		if remember && s.mfa != nil {
			if err := s.mfa.RememberDevice(ctx, p.UserID, b.Device(), b.UserAgent(), b.IP()); err != nil {
				return err
			}
		}
		if p.StepUp {
			bs, err = s.sessions.StepUp(ctx, live, amr, class)
			return err
		}
		bs, err = b.Begin(ctx, session.Authentication{UserID: p.UserID, AMR: amr, ACR: class, IDP: idp})
		return err
	})
	if err != nil {
		return Next{}, fmt.Errorf("signin: start session: %w", err)
	}
	next := Next{Step: Done, Session: bs, Linked: linked, URL: s.paths.Account}
	if p.AuthID != "" {
		// The authorization endpoint counts this sign-in as made for the
		// request (prompt=login, max_age).
		if err := s.store.SetAuthRequestSession(ctx, p.AuthID, bs.ID); err != nil {
			return next, fmt.Errorf("signin: record the session on the request: %w", err)
		}
		next.URL = s.paths.Resume + "?" + url.Values{"auth": {p.AuthID}}.Encode()
	} else if linked {
		next.URL = s.paths.Account + "?" + url.Values{"notice": {"linked"}}.Encode()
	}
	return next, nil
}

// appendNew appends the values not in list yet.
func appendNew(list []string, vs ...string) []string {
	out := slices.Clone(list)
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Fresh reports whether the session's last sign-in is recent enough for a
// sensitive change (removing a second factor, new recovery codes).
func (s *Service) Fresh(bs storage.BrowserSession) bool {
	return s.now().Sub(bs.AuthTime) <= s.reauthAge
}
