// Package passkey keeps customers' passkeys (WebAuthn Level 3 public key
// credentials, through github.com/go-webauthn/webauthn) and runs their
// ceremonies: registration from the account page, a sign-in with a
// discoverable credential as the first factor, and an assertion for a
// known customer as the second factor. A ceremony's state (its challenge)
// is kept in the store, bound to the browser's device cookie, and taken
// once, so an answer cannot be replayed. It decides nothing about when a
// sign-in is done: it returns the RFC 8176 methods and pkg/signin decides.
package passkey

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Method is the name of passkeys in user.mfa.* and user.login.* events.
const Method = "passkey"

// RFC 8176 §2 authentication method references of a passkey.
const (
	// AMRHardware is "hwk": a proof of possession of a hardware-secured
	// key, for a credential that cannot leave its authenticator (the
	// backup-eligible flag clear, WebAuthn §6.1.3).
	AMRHardware = "hwk"
	// AMRSoftware is "swk": a proof of possession of a software-secured
	// key, for a backup-eligible (synced) passkey.
	AMRSoftware = "swk"
	// AMRUser is "user": the authenticator verified the user (the UV flag,
	// WebAuthn §6.1), by a PIN or a biometric.
	AMRUser = "user"
)

// Errors of the ceremonies.
var (
	// ErrUnavailable means passkeys are off: the issuer's host is an IP
	// address, which WebAuthn refuses as an RP ID (WebAuthn §5.1.3 step 8
	// and §5.1.4.1 step 7: the RP ID must be a registrable domain
	// suffix of the origin's effective domain, never an IP address).
	ErrUnavailable = errors.New("passkey: passkeys need an issuer on a domain name, not an IP address")
	// ErrInvalid is an answer that does not verify: a wrong origin or RP
	// ID, a bad signature, an unknown credential, a challenge that was
	// used, expired or is another browser's.
	ErrInvalid = errors.New("passkey: the passkey's answer is not valid")
	// ErrCloned is an assertion whose signature counter did not move
	// forward (WebAuthn §7.2 step 22, §6.1.1): the authenticator may be
	// cloned. It wraps ErrInvalid.
	ErrCloned = fmt.Errorf("%w: the signature counter went backwards", ErrInvalid)
)

// The ceremonies' kinds, as stored with their state.
const (
	kindRegister = "register"
	kindLogin    = "login"
	kindSecond   = "second"
)

// Store is what passkeys need of the store.
type Store interface {
	storage.Transactor
	storage.PasskeyStore
	GetUser(ctx context.Context, id string) (storage.User, error)
	// DeleteMFADevices forgets the browsers remembered for the second
	// factor (removing a passkey forgets them).
	DeleteMFADevices(ctx context.Context, userID string) (int, error)
}

// Options are a Service's dependencies.
type Options struct {
	Store  Store
	Events events.Sink
	// Issuer is the server's issuer URL: the RP ID is its host, the one
	// allowed origin its scheme, host and port.
	Issuer string
	// DisplayName names the service to the customer's authenticator
	// ("Gatehouse" when empty).
	DisplayName string
	// Lifetime bounds a ceremony, from the options to the answer; 0 means
	// five minutes.
	Lifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// RecoveryCodes, when set, runs in the transaction that stores a
	// customer's first second factor (no TOTP, no passkey before) and
	// returns the recovery codes to show once (mfa.FirstRecoveryCodes).
	RecoveryCodes func(ctx context.Context, userID string) ([]string, error)
}

// Service runs passkey ceremonies and keeps passkeys.
type Service struct {
	store    Store
	events   events.Sink
	wa       *webauthn.WebAuthn
	lifetime time.Duration
	now      func() time.Time
	log      *slog.Logger
	recovery func(ctx context.Context, userID string) ([]string, error)
}

// New returns a Service for the issuer, or ErrUnavailable when the issuer's
// host is an IP address.
func New(opts Options) (*Service, error) {
	iss, err := url.Parse(opts.Issuer)
	if err != nil || iss.Host == "" {
		return nil, fmt.Errorf("passkey: issuer %q: not a URL", opts.Issuer)
	}
	if net.ParseIP(iss.Hostname()) != nil {
		return nil, ErrUnavailable
	}
	name := opts.DisplayName
	if name == "" {
		name = "Gatehouse"
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          iss.Hostname(),
		RPDisplayName: name,
		RPOrigins:     []string{iss.Scheme + "://" + iss.Host},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	s := &Service{store: opts.Store, events: opts.Events, wa: wa, lifetime: opts.Lifetime, now: opts.Now, log: opts.Logger, recovery: opts.RecoveryCodes}
	if s.lifetime <= 0 {
		s.lifetime = 5 * time.Minute
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Ceremony is what the browser needs to run one: the handle it posts
// back, and the options for navigator.credentials (the JSON of
// PublicKeyCredentialCreationOptions or ...RequestOptions, which
// PublicKeyCredential.parseCreationOptionsFromJSON and
// parseRequestOptionsFromJSON read).
type Ceremony struct {
	ID      string          `json:"id"`
	Options json.RawMessage `json:"publicKey"`
}

// user is a customer as go-webauthn sees it. The user handle is the
// customer's ID: random and free of personal data (WebAuthn §14.6.1).
type user struct {
	id, name string
	creds    []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return []byte(u.id) }
func (u user) WebAuthnName() string                       { return u.name }
func (u user) WebAuthnDisplayName() string                { return u.name }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// customer loads a customer and their credentials.
func (s *Service) customer(ctx context.Context, userID string) (user, []storage.Passkey, error) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return user{}, nil, fmt.Errorf("passkey: read customer: %w", err)
	}
	list, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return user{}, nil, fmt.Errorf("passkey: list: %w", err)
	}
	wu := user{id: u.ID, name: u.Email}
	if wu.name == "" {
		wu.name = u.ID
	}
	for _, p := range list {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil {
			return user{}, nil, fmt.Errorf("passkey: decode %s: %w", p.ID, err)
		}
		wu.creds = append(wu.creds, c)
	}
	return wu, list, nil
}

// begin stores a ceremony's state for the browser and returns its handle.
func (s *Service) begin(ctx context.Context, kind, device, userID string, sd *webauthn.SessionData, options any) (Ceremony, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: encode state: %w", err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: encode options: %w", err)
	}
	id := rand.Text()
	err = s.store.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{
		ID: id, Device: device, UserID: userID, Kind: kind, Data: data, ExpiresAt: s.now().Add(s.lifetime),
	})
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: store state: %w", err)
	}
	return Ceremony{ID: id, Options: opts}, nil
}

// take takes a ceremony's state once; ErrInvalid when it is not this
// browser's ceremony of this kind (for this customer).
func (s *Service) take(ctx context.Context, id, kind, device, userID string) (webauthn.SessionData, error) {
	c, err := s.store.TakeWebAuthnChallenge(ctx, id, s.now())
	if errors.Is(err, storage.ErrNotFound) {
		return webauthn.SessionData{}, fmt.Errorf("%w: no such ceremony", ErrInvalid)
	}
	if err != nil {
		return webauthn.SessionData{}, fmt.Errorf("passkey: take state: %w", err)
	}
	if c.Kind != kind || c.Device != device || c.UserID != userID {
		return webauthn.SessionData{}, fmt.Errorf("%w: another browser's or another kind of ceremony", ErrInvalid)
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return sd, fmt.Errorf("passkey: decode state: %w", err)
	}
	return sd, nil
}

// credentialID encodes a credential ID as the store keeps it.
func credentialID(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }
