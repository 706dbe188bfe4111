package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// ExportStore is what Export reads.
type ExportStore interface {
	GetUser(ctx context.Context, id string) (storage.User, error)
	ListIdentities(ctx context.Context, userID string) ([]storage.Identity, error)
	ListSessionsByUser(ctx context.Context, userID string) ([]storage.BrowserSession, error)
	ListConsents(ctx context.Context, userID string) ([]storage.Consent, error)
	GetTOTP(ctx context.Context, userID string) (storage.TOTP, error)
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	ListEvents(ctx context.Context, f storage.EventFilter, page storage.Page) ([]storage.Event, error)
}

// Export is everything Gatehouse keeps about a customer, as the account
// page's "download my data" gives it (JSON). It holds no secret: no
// password hash (only whether there is a password), no second factor's
// key or recovery code (only that they exist), no session cookie or token.
type Export struct {
	ExportedAt time.Time       `json:"exported_at"`
	Profile    ExportProfile   `json:"profile"`
	Identities []ExportLink    `json:"linked_accounts"`
	Sessions   []ExportSession `json:"sessions"`
	Consents   []ExportConsent `json:"connected_apps"`
	MFA        ExportMFA       `json:"second_factors"`
	Events     []ExportEvent   `json:"events"`
}

// ExportProfile is the customer's profile.
type ExportProfile struct {
	ID                  string          `json:"sub"`
	Email               string          `json:"email"`
	EmailVerified       bool            `json:"email_verified"`
	HasPassword         bool            `json:"has_password"`
	Name                string          `json:"name"`
	GivenName           string          `json:"given_name"`
	FamilyName          string          `json:"family_name"`
	Picture             string          `json:"picture"`
	Locale              string          `json:"locale"`
	PhoneNumber         string          `json:"phone_number"`
	PhoneNumberVerified bool            `json:"phone_number_verified"`
	Address             storage.Address `json:"address"`
	CreatedAt           time.Time       `json:"created_at"`
	UpdatedAt           time.Time       `json:"updated_at"`
	// Attributes are the customer's attribute values as stored, by name.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ExportLink is a linked upstream account.
type ExportLink struct {
	Provider   string    `json:"provider"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

// ExportSession is a browser session, by its public sid (never the
// cookie or its hash).
type ExportSession struct {
	SID        string    `json:"sid"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	AMR        []string  `json:"amr"`
	AuthTime   time.Time `json:"auth_time"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ExportConsent is an app the customer allowed.
type ExportConsent struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ExportMFA says which second factors exist, never their secrets.
type ExportMFA struct {
	AuthenticatorApp  bool `json:"authenticator_app"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// ExportEvent is an audit-log event about the customer.
type ExportEvent struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"`
	Time  time.Time       `json:"time"`
	Actor storage.Actor   `json:"actor"`
	Data  json.RawMessage `json:"data"`
}

// exportEventsMax caps the events exported, newest kept out past it.
const exportEventsMax = 10000

// ExportCustomer gathers everything stored about the customer.
func ExportCustomer(ctx context.Context, store ExportStore, userID string) (Export, error) {
	u, err := store.GetUser(ctx, userID)
	if err != nil {
		return Export{}, fmt.Errorf("export: %w", err)
	}
	x := Export{
		ExportedAt: time.Now().UTC(),
		Profile: ExportProfile{
			ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, HasPassword: u.PasswordHash != "",
			Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName, Picture: u.Picture, Locale: u.Locale,
			PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified, Address: u.Address,
			CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Attributes: u.Attributes,
		},
		Identities: []ExportLink{}, Sessions: []ExportSession{}, Consents: []ExportConsent{}, Events: []ExportEvent{},
	}
	links, err := store.ListIdentities(ctx, userID)
	if err != nil {
		return Export{}, fmt.Errorf("export identities: %w", err)
	}
	for _, l := range links {
		x.Identities = append(x.Identities, ExportLink{Provider: l.Provider, Subject: l.Subject, Email: l.Email, CreatedAt: l.CreatedAt, LastUsedAt: l.LastUsedAt})
	}
	sessions, err := store.ListSessionsByUser(ctx, userID)
	if err != nil {
		return Export{}, fmt.Errorf("export sessions: %w", err)
	}
	for _, s := range sessions {
		x.Sessions = append(x.Sessions, ExportSession{SID: s.SID, UserAgent: s.UserAgent, IP: s.IP, AMR: s.AMR,
			AuthTime: s.AuthTime, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt})
	}
	consents, err := store.ListConsents(ctx, userID)
	if err != nil {
		return Export{}, fmt.Errorf("export consents: %w", err)
	}
	for _, c := range consents {
		x.Consents = append(x.Consents, ExportConsent{ClientID: c.ClientID, Scopes: c.Scopes, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	if t, err := store.GetTOTP(ctx, userID); err == nil {
		x.MFA.AuthenticatorApp = t.Confirmed
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Export{}, fmt.Errorf("export second factors: %w", err)
	}
	if x.MFA.RecoveryCodesLeft, err = store.CountRecoveryCodes(ctx, userID); err != nil {
		return Export{}, fmt.Errorf("export recovery codes: %w", err)
	}
	page := storage.Page{Limit: 500}
	for len(x.Events) < exportEventsMax {
		evs, err := store.ListEvents(ctx, storage.EventFilter{Subject: userID}, page)
		if err != nil {
			return Export{}, fmt.Errorf("export events: %w", err)
		}
		for _, e := range evs {
			x.Events = append(x.Events, ExportEvent{ID: e.ID, Type: e.Type, Time: e.Time, Actor: e.Actor, Data: e.Data})
		}
		if len(evs) < page.Limit {
			break
		}
		page.After = evs[len(evs)-1].ID
	}
	return x, nil
}
