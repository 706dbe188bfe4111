package events

// The data of each event type, as the audit log keeps it and webhooks
// deliver it (docs/events.md). None holds a secret: no password, hash,
// token, client secret or registration access token. The customer's own
// profile data (email, names) appears where it says what changed.

// UserCreatedData is user.created's data.
type UserCreatedData struct {
	// Email is the new customer's email, "" when a provider gave none.
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	// Provider is the upstream provider the customer signed up with, ""
	// for a customer created with a password.
	Provider string `json:"provider,omitempty"`
	// Roles are the names of the default roles the new customer got.
	Roles []string `json:"roles,omitempty"`
	// Attributes names the customer attributes the customer was created
	// with (docs/customers.md#attributes), never their values.
	Attributes []string `json:"attributes,omitempty"`
}

// UserUpdatedData is user.updated's data.
type UserUpdatedData struct {
	// Fields names the profile members that changed (as the admin API
	// spells them), never the password.
	Fields []string `json:"fields"`
	// Email is the new email when it changed.
	Email string `json:"email,omitempty"`
	// Attributes names the customer attributes whose values changed
	// (docs/customers.md#attributes), never the values.
	Attributes []string `json:"attributes,omitempty"`
}

// UserImportedData is user.imported's data: one event per committed batch
// of an import (its subject is the import's ID), never one per customer.
// It names no customer, email or hash.
type UserImportedData struct {
	// ImportID is the import the batch belongs to (also the subject).
	ImportID string `json:"import_id"`
	// Batch numbers the batch within the import, from 1.
	Batch int `json:"batch"`
	// FirstLine and LastLine are the lines of the file the batch covers.
	FirstLine int `json:"first_line"`
	LastLine  int `json:"last_line"`
	// The batch's counts: customers created, updated, skipped (they
	// existed, on_conflict=skip) and records that could not be imported.
	// Lines that are not records at all (not JSON, too long) are counted
	// only in the import's summary.
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// RolesAssigned counts the roles the batch gave customers (the roles
	// member), not one event per customer.
	RolesAssigned int `json:"roles_assigned,omitempty"`
}

// UserEmailVerifiedData is user.email_verified's data.
type UserEmailVerifiedData struct {
	Email string `json:"email"`
}

// LoginData is the data of user.login.succeeded and user.login.failed.
type LoginData struct {
	// Method is "pwd" (password) or "fed" (an upstream provider).
	Method string `json:"method"`
	// Provider is the upstream provider's ID for "fed".
	Provider string `json:"provider,omitempty"`
	// ClientID is the app the customer signed in to; "" on the account
	// page.
	ClientID string `json:"client_id,omitempty"`
	// IP is the browser's address.
	IP string `json:"ip,omitempty"`
	// Email is, for a failed password sign-in, the email typed, masked
	// (j***@example.com) whether or not a customer has it.
	Email string `json:"email,omitempty"`
	// Reason is, for a failed sign-in, why: "invalid_credentials",
	// "cancelled", "upstream_failed", "linked_elsewhere", or for a wrong
	// second factor "invalid_code".
	Reason string `json:"reason,omitempty"`
	// SecondFactor is the second factor of the sign-in, or the one that
	// failed: "totp" or "recovery_code"; "" for none.
	SecondFactor string `json:"second_factor,omitempty"`
	// StepUp marks a second factor added to a session that had only the
	// first (the session and its sid stay).
	StepUp bool `json:"step_up,omitempty"`
	// AMR and ACR are what the sign-in reached (RFC 8176 methods; the
	// authentication context class), for a successful one.
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
}

// MFAData is the data of user.mfa.enrolled, user.mfa.removed and
// user.mfa.recovery_code_used. It never holds a key or a code.
type MFAData struct {
	// Method is "totp" (an authenticator app), "recovery_codes" (a new
	// set, replacing any old one) or "passkey" (one passkey, or all of them
	// at a reset).
	Method string `json:"method"`
	// Reason says why second factors were removed: "customer" (from the
	// account page) or "reset" (an operator's, admin API or command line).
	Reason string `json:"reason,omitempty"`
	// RecoveryCodesLeft is how many unused recovery codes remain, for
	// user.mfa.recovery_code_used.
	RecoveryCodesLeft *int `json:"recovery_codes_left,omitempty"`
}

// IdentityData is the data of identity.linked and identity.unlinked.
type IdentityData struct {
	Provider string `json:"provider"`
	// Email is the address the provider reported, if any.
	Email string `json:"email,omitempty"`
}

// ConsentData is the data of consent.granted and consent.revoked.
type ConsentData struct {
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes,omitempty"`
	// Remembered says a granted consent was stored, so the client need not
	// ask again; false for an allow of this request only.
	Remembered bool `json:"remembered,omitempty"`
}

// ClientData is the data of client.created, client.updated and
// client.deleted.
type ClientData struct {
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name,omitempty"`
	// SecretRotated marks the client.updated of a secret rotation (the
	// secret itself is never recorded).
	SecretRotated bool `json:"secret_rotated,omitempty"`
}

// KeyRotatedData is key.rotated's data.
type KeyRotatedData struct {
	KID string `json:"kid"`
	Alg string `json:"alg"`
	// State is the key's new state: "active" for a new key (a rotation),
	// "retired" for a retired one.
	State string `json:"state"`
}

// RoleData is the data of role.created, role.deleted, user.role.assigned
// and user.role.unassigned (whose subject is the customer; a role's own
// events have the role's ID as subject).
type RoleData struct {
	RoleID string `json:"role_id"`
	Name   string `json:"name"`
	// ClientID is the client the role belongs to, "" for a global role.
	ClientID string `json:"client_id,omitempty"`
	// Default marks a role given to new customers (role.created).
	Default bool `json:"default,omitempty"`
}

// UserDisabledData is user.disabled's data.
type UserDisabledData struct {
	// SessionsEnded is how many browser sessions the disabling ended
	// (each with its session.ended event).
	SessionsEnded int `json:"sessions_ended"`
}
