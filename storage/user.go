package storage

import "time"

// User is a customer: a person who signs in to relying parties through
// Gatehouse.
type User struct {
	// ID is the stable, unique subject identifier ("sub"): random, never
	// reused, never changed.
	ID string
	// Email is the sign-in address, stored lower-cased; unique.
	Email string
	// EmailVerified says the customer proved they receive mail there.
	EmailVerified bool
	// PasswordHash is the PHC-format hash of the password (argon2id), or a
	// hash imported in another format (identity.CheckImportedHash) until the
	// first sign-in replaces it; empty for a customer without a password.
	PasswordHash string
	// ExternalID is the customer's ID in the system they were imported
	// from, "" if none; unique when set. Imports match customers by it.
	ExternalID string
	// Profile claims (OpenID Connect Core §5.1).
	Name       string
	GivenName  string
	FamilyName string
	Picture    string
	Locale     string
	// PhoneNumber and PhoneNumberVerified are the phone scope's claims.
	PhoneNumber         string
	PhoneNumberVerified bool
	// Address is the address scope's claim.
	Address Address
	// MFA says the customer has a confirmed second factor. Only the
	// MFAStore methods change it (UpdateUser keeps the stored value), so a
	// sign-in knows from the customer's row whether to ask for one.
	MFA bool
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Disabled says an operator disabled the customer: every sign-in is
	// refused. Only accounts.DisableCustomer and EnableCustomer change it,
	// together with ending the customer's sessions and tokens.
	Disabled bool
	// Attributes are the customer's values of the attributes the operator
	// declares (pkg/attributes), each in its stored text form, by name;
	// nil or empty for none. The store keeps them whole and indexes the
	// values of the attributes it was told are searchable
	// (AdminStore.ListUsers with UserFilter.Attribute).
	Attributes map[string]string
}

// Address is the address claim (OpenID Connect Core §5.1.1).
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// IsZero reports whether no part of the address is set.
func (a Address) IsZero() bool { return a == Address{} }

// BrowserSession is a customer's signed-in session in one browser. The
// browser holds a random secret in a cookie; the store keeps only its hash.
type BrowserSession struct {
	// ID is the SHA-256 (hex) of the cookie's secret.
	ID string
	// SID is the public session identifier put in ID tokens ("sid") and
	// logout tokens; it reveals nothing about the cookie.
	SID string
	// UserID is the signed-in customer.
	UserID string
	// AuthTime is when the customer last authenticated actively.
	AuthTime time.Time
	// AMR lists the authentication methods used (RFC 8176), e.g. ["pwd"].
	AMR []string
	// ACR is the authentication context class reached.
	ACR string
	// IDP is the ID of the upstream identity provider that vouched for the
	// customer at sign-in (see Identity), "" for a sign-in at Gatehouse alone.
	IDP string
	// CreatedAt is when the session began.
	CreatedAt time.Time
	// LastSeenAt is when the session was last used; the idle timeout counts
	// from it.
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time
	// UserAgent is the browser's User-Agent header when the session began
	// (truncated), and IP its address then, for the customer's list of
	// their sessions; "" when unknown.
	UserAgent string
	IP        string
}

// Consent is what a customer allowed a client: the scopes, remembered so
// they are not asked again.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AuthRequest is an authorization request waiting for the customer to sign
// in or consent. The original request is kept whole and parsed again when
// the customer comes back.
type AuthRequest struct {
	// ID is random and appears in the URLs of the sign-in and consent pages.
	ID string
	// ClientID is the requesting client.
	ClientID string
	// Form is the original request's parameters, URL-encoded.
	Form string
	// RequestedAt is when the original request arrived.
	RequestedAt time.Time
	// BrowserBinding is the hash of the browser cookie that started the
	// request; only that browser may continue it.
	BrowserBinding string
	// SessionID is the browser session that signed in for this request, set
	// when the customer authenticates during it (so prompt=login and max_age
	// are satisfied by that sign-in and not by an older one).
	SessionID string
	// ExpiresAt is when the request is dropped.
	ExpiresAt time.Time
}
