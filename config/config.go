// Package config holds Gatehouse's typed configuration and the rules for
// building it: start from Default, overlay an optional YAML file, overlay
// GATEHOUSE_* environment variables, then Validate.
//
// Every setting has one YAML key and one environment variable; the table in
// settings ties the two to the Config field, so the file and the environment
// are parsed by the same code and name settings the same way in errors.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
)

// Config is the whole configuration of a Gatehouse server.
type Config struct {
	// Issuer is the OpenID Connect issuer URL, the base of every public
	// endpoint (GATEHOUSE_ISSUER).
	Issuer string `yaml:"issuer"`
	// HTTPAddr is the host:port the HTTP server listens on
	// (GATEHOUSE_HTTP_ADDR).
	HTTPAddr string `yaml:"http_addr"`
	// DatabaseURL selects the database: sqlite://PATH or
	// postgres://... (GATEHOUSE_DATABASE_URL). See Database.
	DatabaseURL string `yaml:"database_url"`
	// Secret is the system secret from which the encryption, client-secret
	// hashing and token HMAC keys are derived (GATEHOUSE_SECRET). On SQLite
	// it may be left empty; see EnsureSecret.
	Secret string `yaml:"secret"`
	// AutoMigrate makes the server create or upgrade the database schema at
	// start-up (GATEHOUSE_AUTO_MIGRATE).
	AutoMigrate bool `yaml:"auto_migrate"`
	// AccessTokenLifetime is how long an access token is valid
	// (GATEHOUSE_ACCESS_TOKEN_LIFETIME).
	AccessTokenLifetime time.Duration `yaml:"access_token_lifetime"`
	// RefreshTokenLifetime is how long a refresh token is valid
	// (GATEHOUSE_REFRESH_TOKEN_LIFETIME).
	RefreshTokenLifetime time.Duration `yaml:"refresh_token_lifetime"`
	// AuthorizationCodeLifetime is how long an authorization code may wait
	// to be exchanged (GATEHOUSE_AUTHORIZATION_CODE_LIFETIME).
	AuthorizationCodeLifetime time.Duration `yaml:"authorization_code_lifetime"`
	// IDTokenLifetime is how long an ID token is valid
	// (GATEHOUSE_ID_TOKEN_LIFETIME).
	IDTokenLifetime time.Duration `yaml:"id_token_lifetime"`
	// KeysRefreshInterval is how often each replica re-reads the signing
	// keys, i.e. the bound on how long a rotation made by another replica
	// takes to be seen (GATEHOUSE_KEYS_REFRESH_INTERVAL).
	KeysRefreshInterval time.Duration `yaml:"keys_refresh_interval"`
	// ClientCacheTTL is how long a replica may use a cached client before
	// re-reading it; 0 disables the cache (GATEHOUSE_CLIENT_CACHE_TTL).
	ClientCacheTTL time.Duration `yaml:"client_cache_ttl"`
	// LogLevel is one of debug, info, warn or error (GATEHOUSE_LOG_LEVEL).
	LogLevel string `yaml:"log_level"`
	// ShutdownTimeout is how long a stopping server waits for requests in
	// flight (GATEHOUSE_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxRequestBytes is the largest request body accepted
	// (GATEHOUSE_MAX_REQUEST_BYTES).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// SessionIdleTimeout ends a browser session unused for this long
	// (GATEHOUSE_SESSION_IDLE_TIMEOUT).
	SessionIdleTimeout time.Duration `yaml:"session_idle_timeout"`
	// SessionLifetime ends a browser session this long after sign-in, used
	// or not (GATEHOUSE_SESSION_LIFETIME).
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// Argon2MemoryKiB, Argon2Iterations and Argon2Parallelism are the
	// argon2id parameters for new password hashes
	// (GATEHOUSE_ARGON2_MEMORY_KIB, GATEHOUSE_ARGON2_ITERATIONS,
	// GATEHOUSE_ARGON2_PARALLELISM).
	Argon2MemoryKiB   int64 `yaml:"argon2_memory_kib"`
	Argon2Iterations  int64 `yaml:"argon2_iterations"`
	Argon2Parallelism int64 `yaml:"argon2_parallelism"`
	// PKCEAllowPlain accepts code_challenge_method=plain (RFC 7636 §4.2);
	// off by default, as RFC 9700 §2.1.1 advises (GATEHOUSE_PKCE_ALLOW_PLAIN).
	PKCEAllowPlain bool `yaml:"pkce_allow_plain"`
	// RegistrationPolicy says who may register clients at the registration
	// endpoint: closed, initial-access-token or open
	// (GATEHOUSE_REGISTRATION_POLICY).
	RegistrationPolicy string `yaml:"registration_policy"`
	// ReservedScopes are scopes, besides gatehouse:admin, that only an
	// operator may give a client (the command line or the admin API);
	// registration asking for one is refused. Separated by spaces or commas
	// (GATEHOUSE_RESERVED_SCOPES). See ReservedScopeList.
	ReservedScopes string `yaml:"reserved_scopes"`
	// OutboundAllowCIDRs are private address ranges that the outbound client
	// (fetches of URLs that clients supply) may reach although they are not
	// public; separated by spaces or commas (GATEHOUSE_OUTBOUND_ALLOW_CIDRS).
	OutboundAllowCIDRs string `yaml:"outbound_allow_cidrs"`
	// DevAllowLoopbackURLs admits http and loopback URLs in client metadata
	// and for outbound fetches, for local development only
	// (GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS). The server warns at start when on.
	DevAllowLoopbackURLs bool `yaml:"dev_allow_loopback_urls"`
	// TrustedProxies are the address ranges of reverse proxies whose
	// X-Forwarded-For or Forwarded header names the client's address;
	// separated by spaces or commas (GATEHOUSE_TRUSTED_PROXIES).
	TrustedProxies string `yaml:"trusted_proxies"`
	// MetricsAddr is the management listener's host:port, serving /metrics,
	// /healthz and /readyz apart from the customer-facing listener; "off"
	// disables it (GATEHOUSE_METRICS_ADDR).
	MetricsAddr string `yaml:"metrics_addr"`
	// PasswordMinLength is the fewest characters a new password may have
	// (GATEHOUSE_PASSWORD_MIN_LENGTH); NIST SP 800-63B §5.1.1.2.
	PasswordMinLength int64 `yaml:"password_min_length"`
	// ThrottleEnabled turns on the throttling of password guessing, failed
	// client authentication and registrations (GATEHOUSE_THROTTLE_ENABLED).
	// See docs/configuration.md, Throttling.
	ThrottleEnabled bool `yaml:"throttle_enabled"`
	// ThrottleAccountFailures are the failed sign-ins to one account from
	// browsers that never signed in to it before the waits start
	// (GATEHOUSE_THROTTLE_ACCOUNT_FAILURES); counted for a day.
	ThrottleAccountFailures int64 `yaml:"throttle_account_failures"`
	// ThrottleAccountIPFailures are those from one client address
	// (GATEHOUSE_THROTTLE_ACCOUNT_IP_FAILURES); counted for a day.
	ThrottleAccountIPFailures int64 `yaml:"throttle_account_ip_failures"`
	// ThrottleIPFailures are the failed sign-ins from one client address to
	// any account (GATEHOUSE_THROTTLE_IP_FAILURES); counted for an hour.
	ThrottleIPFailures int64 `yaml:"throttle_ip_failures"`
	// ThrottleDeviceFailures are the failed sign-ins of a browser that
	// signed in to the account before: its own budget
	// (GATEHOUSE_THROTTLE_DEVICE_FAILURES); counted for a day.
	ThrottleDeviceFailures int64 `yaml:"throttle_device_failures"`
	// ThrottleClientFailures are the failed client authentications per
	// client_id (GATEHOUSE_THROTTLE_CLIENT_FAILURES); counted for an hour.
	ThrottleClientFailures int64 `yaml:"throttle_client_failures"`
	// ThrottleRegistrationsPerIP are the client registrations from one
	// address (GATEHOUSE_THROTTLE_REGISTRATIONS_PER_IP); counted for an
	// hour.
	ThrottleRegistrationsPerIP int64 `yaml:"throttle_registrations_per_ip"`
	// ThrottleBackoffBase is the first wait once a budget is spent; each
	// further failure doubles it (GATEHOUSE_THROTTLE_BACKOFF_BASE).
	ThrottleBackoffBase time.Duration `yaml:"throttle_backoff_base"`
	// ThrottleBackoffMax caps one wait (GATEHOUSE_THROTTLE_BACKOFF_MAX).
	ThrottleBackoffMax time.Duration `yaml:"throttle_backoff_max"`
	// ThrottleMemoryCounters caps the counters one replica keeps in memory
	// on SQLite (GATEHOUSE_THROTTLE_MEMORY_COUNTERS); on PostgreSQL they
	// are in the database, shared by the replicas.
	ThrottleMemoryCounters int64 `yaml:"throttle_memory_counters"`
	// TrustedProxyHeader is the header trusted proxies name the client in:
	// X-Forwarded-For or Forwarded (RFC 7239)
	// (GATEHOUSE_TRUSTED_PROXY_HEADER). The other is never read.
	TrustedProxyHeader string `yaml:"trusted_proxy_header"`

	// Sign-in with upstream identity providers (docs/social-login.md). For
	// each provider: an enabled flag, the OAuth client's credentials, the
	// scopes to ask for (space-separated; empty for the provider's
	// defaults), and whether its word that an email is verified counts
	// (true, false, or empty for the provider's default). See
	// SocialProviders. GATEHOUSE_GOOGLE_*, GATEHOUSE_FACEBOOK_*,
	// GATEHOUSE_GITHUB_*, GATEHOUSE_APPLE_*, GATEHOUSE_OIDC_*.
	GoogleEnabled        bool   `yaml:"google_enabled"`
	GoogleClientID       string `yaml:"google_client_id"`
	GoogleClientSecret   string `yaml:"google_client_secret"`
	GoogleScopes         string `yaml:"google_scopes"`
	GoogleTrustEmail     string `yaml:"google_trust_email"`
	FacebookEnabled      bool   `yaml:"facebook_enabled"`
	FacebookClientID     string `yaml:"facebook_client_id"`
	FacebookClientSecret string `yaml:"facebook_client_secret"`
	FacebookScopes       string `yaml:"facebook_scopes"`
	FacebookTrustEmail   string `yaml:"facebook_trust_email"`
	GitHubEnabled        bool   `yaml:"github_enabled"`
	GitHubClientID       string `yaml:"github_client_id"`
	GitHubClientSecret   string `yaml:"github_client_secret"`
	GitHubScopes         string `yaml:"github_scopes"`
	GitHubTrustEmail     string `yaml:"github_trust_email"`
	// Apple's client secret is a JWT signed with a private key; the
	// settings name the key instead.
	AppleEnabled        bool   `yaml:"apple_enabled"`
	AppleClientID       string `yaml:"apple_client_id"`
	AppleTeamID         string `yaml:"apple_team_id"`
	AppleKeyID          string `yaml:"apple_key_id"`
	ApplePrivateKeyFile string `yaml:"apple_private_key_file"`
	AppleScopes         string `yaml:"apple_scopes"`
	AppleTrustEmail     string `yaml:"apple_trust_email"`
	// The generic OpenID provider also has a display name and an issuer.
	OIDCEnabled      bool   `yaml:"oidc_enabled"`
	OIDCName         string `yaml:"oidc_name"`
	OIDCIssuer       string `yaml:"oidc_issuer"`
	OIDCClientID     string `yaml:"oidc_client_id"`
	OIDCClientSecret string `yaml:"oidc_client_secret"`
	OIDCScopes       string `yaml:"oidc_scopes"`
	OIDCTrustEmail   string `yaml:"oidc_trust_email"`
	// AutoLinkVerifiedEmail links a provider account to the customer who
	// has its email without asking the customer to confirm, when both sides
	// say the email is verified (GATEHOUSE_AUTO_LINK_VERIFIED_EMAIL).
	AutoLinkVerifiedEmail bool `yaml:"auto_link_verified_email"`
	// ShutdownDrainDelay is how long a stopping server keeps serving, with
	// /readyz failing and every answer closing its connection, before it
	// stops accepting connections, so that load balancers stop sending it
	// requests first; 0 stops at once (GATEHOUSE_SHUTDOWN_DRAIN_DELAY).
	ShutdownDrainDelay time.Duration `yaml:"shutdown_drain_delay"`
	// EventRetention is how long the audit log keeps an event; 0 keeps
	// events forever (GATEHOUSE_EVENT_RETENTION).
	EventRetention time.Duration `yaml:"event_retention"`
	// WebhookRetryHorizon is how long a webhook delivery is retried after
	// its event; then it is dead-lettered, kept for inspection and replay
	// (GATEHOUSE_WEBHOOK_RETRY_HORIZON).
	WebhookRetryHorizon time.Duration `yaml:"webhook_retry_horizon"`
	// SQLiteWALMaxBytes bounds SQLite's write-ahead log file
	// (GATEHOUSE_SQLITE_WAL_MAX_BYTES): past half of it, the log is copied
	// into the database and restarted between two writes. Ignored on
	// PostgreSQL.
	SQLiteWALMaxBytes int64 `yaml:"sqlite_wal_max_bytes"`
	// SMTPHost is the mail server that sends customers' mails; empty
	// writes each mail to the outbox folder instead, for development
	// (GATEHOUSE_SMTP_HOST). See docs/configuration.md, Mail.
	SMTPHost string `yaml:"smtp_host"`
	// SMTPPort is the mail server's port (GATEHOUSE_SMTP_PORT): 587 for
	// STARTTLS, 465 for implicit TLS.
	SMTPPort int64 `yaml:"smtp_port"`
	// SMTPTLS is none, starttls or tls (GATEHOUSE_SMTP_TLS).
	SMTPTLS string `yaml:"smtp_tls"`
	// SMTPUsername and SMTPPassword authenticate to the mail server when
	// the user name is set (GATEHOUSE_SMTP_USERNAME,
	// GATEHOUSE_SMTP_PASSWORD). The password is never logged.
	SMTPUsername string `yaml:"smtp_username"`
	SMTPPassword string `yaml:"smtp_password"`
	// SMTPFrom is the sender of every mail, an address with an optional
	// name: "Example <no-reply@example.com>" (GATEHOUSE_SMTP_FROM).
	SMTPFrom string `yaml:"smtp_from"`
	// MailOutboxDir is the folder mails are written to when no SMTPHost is
	// set; empty is "outbox" next to the SQLite database, or in the
	// working directory on PostgreSQL (GATEHOUSE_MAIL_OUTBOX_DIR). See
	// MailOutboxPath.
	MailOutboxDir string `yaml:"mail_outbox_dir"`
	// MailHourlyLimit is the most mails of one kind sent to one recipient
	// in an hour; the rest are dropped (GATEHOUSE_MAIL_HOURLY_LIMIT).
	MailHourlyLimit int64 `yaml:"mail_hourly_limit"`
	// MFAPolicy says who must use a second factor: optional (those who
	// enrolled one, and every customer of a client with require_mfa) or
	// required (every customer) (GATEHOUSE_MFA_POLICY).
	MFAPolicy string `yaml:"mfa_policy"`
	// ReauthMaxAge is how recent a sign-in must be for a sensitive change
	// on the account page: turning second factors off, new recovery codes,
	// changing the email or password, ending other sessions, downloading
	// the data, deleting the account (GATEHOUSE_REAUTH_MAX_AGE).
	ReauthMaxAge time.Duration `yaml:"reauth_max_age"`
	// ThrottleMFAFailures are the free wrong second-factor codes per
	// customer before the waits start (GATEHOUSE_THROTTLE_MFA_FAILURES).
	ThrottleMFAFailures int64 `yaml:"throttle_mfa_failures"`
	// SignUpEnabled lets customers create accounts at /signup and apps
	// ask for it with prompt=create; off, the server is invite-only
	// (GATEHOUSE_SIGNUP_ENABLED).
	SignUpEnabled bool `yaml:"signup_enabled"`
	// SignUpRequiredFields names the sign-up form's optional fields that
	// are required, separated by commas or spaces: "name" (email and
	// password always are) (GATEHOUSE_SIGNUP_REQUIRED_FIELDS).
	SignUpRequiredFields string `yaml:"signup_required_fields"`
	// TermsURL, when set, is the terms of service a customer must accept
	// to sign up (a checkbox linking it) (GATEHOUSE_TERMS_URL).
	TermsURL string `yaml:"terms_url"`
	// FederationSignUp lets a first sign-in with an upstream provider
	// create a customer; off, only customers who exist (or link) may use
	// providers (GATEHOUSE_FEDERATION_SIGNUP).
	FederationSignUp bool `yaml:"federation_signup"`
	// UnverifiedSignIn lets customers sign in before they confirmed their
	// email (GATEHOUSE_UNVERIFIED_SIGN_IN).
	UnverifiedSignIn bool `yaml:"unverified_sign_in"`
	// EmailVerificationLifetime is how long a verification link and code
	// work (GATEHOUSE_EMAIL_VERIFICATION_LIFETIME).
	EmailVerificationLifetime time.Duration `yaml:"email_verification_lifetime"`
	// PasswordResetLifetime is how long a password-reset link works
	// (GATEHOUSE_PASSWORD_RESET_LIFETIME).
	PasswordResetLifetime time.Duration `yaml:"password_reset_lifetime"`
	// EmailCodeSignIn lets customers with a verified email sign in with a
	// one-time code mailed to it instead of a password
	// (GATEHOUSE_EMAIL_CODE_SIGN_IN).
	EmailCodeSignIn bool `yaml:"email_code_sign_in"`
	// EmailCodeLifetime is how long a sign-in code works
	// (GATEHOUSE_EMAIL_CODE_LIFETIME).
	EmailCodeLifetime time.Duration `yaml:"email_code_lifetime"`
	// NewDeviceAlert mails the customer when they sign in from a browser
	// that never signed in to their account (GATEHOUSE_NEW_DEVICE_ALERT).
	NewDeviceAlert bool `yaml:"new_device_alert"`
	// ThrottleSignUpsPerIP are the free sign-ups per address in an hour
	// (GATEHOUSE_THROTTLE_SIGNUPS_PER_IP).
	ThrottleSignUpsPerIP int64 `yaml:"throttle_signups_per_ip"`
	// ThrottleMailRequestsPerIP are the free requests per address in an
	// hour for a mail (reset links, resent verifications, sign-in codes)
	// (GATEHOUSE_THROTTLE_MAIL_REQUESTS_PER_IP).
	ThrottleMailRequestsPerIP int64 `yaml:"throttle_mail_requests_per_ip"`
	// ThrottleEmailCodeFailures are the free wrong mailed codes per
	// customer (GATEHOUSE_THROTTLE_EMAIL_CODE_FAILURES).
	ThrottleEmailCodeFailures int64 `yaml:"throttle_email_code_failures"`
	// EmailChangeLinkTTL is how long the link that confirms a new email
	// address on the account page works (GATEHOUSE_EMAIL_CHANGE_LINK_TTL).
	EmailChangeLinkTTL time.Duration `yaml:"email_change_link_ttl"`
	// Passkeys turns passkeys (WebAuthn) on: registered on the account
	// page, a first factor on their own and a second factor after a
	// password or a provider (GATEHOUSE_PASSKEYS). The RP ID is the
	// issuer's host and the one origin the issuer's; with an issuer on an
	// IP address they are off whatever this says (WebAuthn refuses IP
	// addresses; develop on http://localhost:PORT).
	Passkeys bool `yaml:"passkeys"`
	// TokenCacheTTL is how long a replica may use an access token it read
	// for introspection or userinfo before re-reading it, i.e. the longest
	// a revocation made through another replica may go unseen here; 0
	// disables the cache (GATEHOUSE_TOKEN_CACHE_TTL).
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`
	// Attributes are the customer attributes the operator declares
	// (docs/customers.md#attributes): the YAML key attributes, a list, or
	// the file AttributesFile names. It is the one setting without an
	// environment variable of its own.
	Attributes []attributes.Declaration `yaml:"attributes"`
	// AttributesFile names a YAML file whose top level is the list of
	// attribute declarations, read by Load instead of the attributes key
	// (GATEHOUSE_ATTRIBUTES_FILE).
	AttributesFile string `yaml:"attributes_file"`
	// MFARememberDeviceDays, when not 0, offers customers to skip the
	// second factor in a browser for that many days after one
	// (GATEHOUSE_MFA_REMEMBER_DEVICE_DAYS); 0, the default, offers nothing.
	// See docs/mfa.md, Remembered devices.
	MFARememberDeviceDays int64 `yaml:"mfa_remember_device_days"`
	// ThrottlePasskeyBegins are the free passkey ceremonies begun in an
	// hour per address and per browser (GATEHOUSE_THROTTLE_PASSKEY_BEGINS):
	// each stores its challenge until it expires.
	ThrottlePasskeyBegins int64 `yaml:"throttle_passkey_begins"`
	// GeoIPDatabase, when set, is a local MaxMind DB file (GeoIP2 or
	// GeoLite2 City, or a Country database) that the account page's
	// session list reads approximate locations from
	// (GATEHOUSE_GEOIP_DATABASE); empty shows only the address.
	GeoIPDatabase string `yaml:"geoip_database"`
	// BrandingProductName is the name the hosted pages and mails show for
	// the service, and the pages' title ends with; empty shows none
	// (GATEHOUSE_BRANDING_PRODUCT_NAME).
	BrandingProductName string `yaml:"branding_product_name"`
	// BrandingLogoURL is the logo at the top of the pages that are not an
	// app's own (an app's registered logo_uri comes first there): an https
	// URL, whose origin the pages' CSP then allows for images, or a path
	// on this server such as /static/logo.svg (a file of TemplatesDir)
	// (GATEHOUSE_BRANDING_LOGO_URL).
	BrandingLogoURL string `yaml:"branding_logo_url"`
	// BrandingFaviconURL is the pages' icon, in the same forms as the logo;
	// empty keeps Gatehouse's (GATEHOUSE_BRANDING_FAVICON_URL).
	BrandingFaviconURL string `yaml:"branding_favicon_url"`
	// BrandingPrimaryColor is the colour of buttons, links and focus rings,
	// #RRGGBB; the dark scheme uses a lighter shade of it. Empty keeps
	// Gatehouse's blue (GATEHOUSE_BRANDING_PRIMARY_COLOR).
	BrandingPrimaryColor string `yaml:"branding_primary_color"`
	// BrandingCustomCSSFile is a stylesheet added after Gatehouse's, read
	// at start-up and served by the server itself
	// (GATEHOUSE_BRANDING_CUSTOM_CSS_FILE).
	BrandingCustomCSSFile string `yaml:"branding_custom_css_file"`
	// BrandingPrivacyURL is the privacy policy the pages' footer links;
	// the footer links TermsURL beside it (GATEHOUSE_BRANDING_PRIVACY_URL).
	BrandingPrivacyURL string `yaml:"branding_privacy_url"`
	// TemplatesDir is a folder whose files replace the embedded pages,
	// mails, static files and locale messages of the same path; checked at
	// start-up like the embedded ones (GATEHOUSE_TEMPLATES_DIR). See
	// docs/branding.md.
	TemplatesDir string `yaml:"templates_dir"`
}

// Default returns the configuration used when nothing overrides it. It is
// valid as it stands: with SQLite, an empty Secret is filled by EnsureSecret.
func Default() Config {
	return Config{
		Issuer:                     "http://localhost:8080",
		HTTPAddr:                   ":8080",
		DatabaseURL:                "sqlite://gatehouse.db",
		Secret:                     "",
		AutoMigrate:                true,
		AccessTokenLifetime:        time.Hour,
		RefreshTokenLifetime:       30 * 24 * time.Hour,
		AuthorizationCodeLifetime:  time.Minute,
		IDTokenLifetime:            time.Hour,
		KeysRefreshInterval:        30 * time.Second,
		ClientCacheTTL:             5 * time.Second,
		LogLevel:                   "info",
		ShutdownTimeout:            30 * time.Second,
		MaxRequestBytes:            64 << 10,
		SessionIdleTimeout:         7 * 24 * time.Hour,
		SessionLifetime:            30 * 24 * time.Hour,
		Argon2MemoryKiB:            19 * 1024,
		Argon2Iterations:           2,
		Argon2Parallelism:          1,
		PKCEAllowPlain:             false,
		RegistrationPolicy:         "initial-access-token",
		MetricsAddr:                ":9000",
		PasswordMinLength:          8,
		ThrottleEnabled:            true,
		ThrottleAccountFailures:    10,
		ThrottleAccountIPFailures:  5,
		ThrottleIPFailures:         100,
		ThrottleDeviceFailures:     10,
		ThrottleClientFailures:     20,
		ThrottleRegistrationsPerIP: 20,
		ThrottleBackoffBase:        time.Second,
		ThrottleBackoffMax:         15 * time.Minute,
		ThrottleMemoryCounters:     100000,
		TrustedProxyHeader:         "X-Forwarded-For",
		ShutdownDrainDelay:         5 * time.Second,
		EventRetention:             90 * 24 * time.Hour,
		WebhookRetryHorizon:        72 * time.Hour,
		SQLiteWALMaxBytes:          64 << 20,
		SMTPPort:                   587,
		SMTPTLS:                    "starttls",
		SMTPFrom:                   "Gatehouse <no-reply@localhost>",
		MailHourlyLimit:            5,
		MFAPolicy:                  "optional",
		ReauthMaxAge:               5 * time.Minute,
		ThrottleMFAFailures:        5,
		SignUpEnabled:              true,
		FederationSignUp:           true,
		UnverifiedSignIn:           true,
		EmailVerificationLifetime:  24 * time.Hour,
		PasswordResetLifetime:      30 * time.Minute,
		EmailCodeLifetime:          10 * time.Minute,
		ThrottleSignUpsPerIP:       20,
		ThrottleMailRequestsPerIP:  20,
		ThrottleEmailCodeFailures:  5,
		EmailChangeLinkTTL:         time.Hour,
		Passkeys:                   true,
		TokenCacheTTL:              time.Second,
		ThrottlePasskeyBegins:      30,
	}
}

// setting ties one Config field to its YAML key and environment variable.
type setting struct {
	key string             // YAML key
	env string             // environment variable
	set func(string) error // parses the text form into the field
}

// settings lists every setting of c, in the order of the Config fields.
// The setters write into c.
func settings(c *Config) []setting {
	return []setting{
		{"issuer", "GATEHOUSE_ISSUER", stringSetter(&c.Issuer)},
		{"http_addr", "GATEHOUSE_HTTP_ADDR", stringSetter(&c.HTTPAddr)},
		{"database_url", "GATEHOUSE_DATABASE_URL", stringSetter(&c.DatabaseURL)},
		{"secret", "GATEHOUSE_SECRET", stringSetter(&c.Secret)},
		{"auto_migrate", "GATEHOUSE_AUTO_MIGRATE", boolSetter(&c.AutoMigrate)},
		{"access_token_lifetime", "GATEHOUSE_ACCESS_TOKEN_LIFETIME", durationSetter(&c.AccessTokenLifetime)},
		{"refresh_token_lifetime", "GATEHOUSE_REFRESH_TOKEN_LIFETIME", durationSetter(&c.RefreshTokenLifetime)},
		{"authorization_code_lifetime", "GATEHOUSE_AUTHORIZATION_CODE_LIFETIME", durationSetter(&c.AuthorizationCodeLifetime)},
		{"id_token_lifetime", "GATEHOUSE_ID_TOKEN_LIFETIME", durationSetter(&c.IDTokenLifetime)},
		{"keys_refresh_interval", "GATEHOUSE_KEYS_REFRESH_INTERVAL", durationSetter(&c.KeysRefreshInterval)},
		{"client_cache_ttl", "GATEHOUSE_CLIENT_CACHE_TTL", durationSetter(&c.ClientCacheTTL)},
		{"log_level", "GATEHOUSE_LOG_LEVEL", stringSetter(&c.LogLevel)},
		{"shutdown_timeout", "GATEHOUSE_SHUTDOWN_TIMEOUT", durationSetter(&c.ShutdownTimeout)},
		{"max_request_bytes", "GATEHOUSE_MAX_REQUEST_BYTES", int64Setter(&c.MaxRequestBytes)},
		{"session_idle_timeout", "GATEHOUSE_SESSION_IDLE_TIMEOUT", durationSetter(&c.SessionIdleTimeout)},
		{"session_lifetime", "GATEHOUSE_SESSION_LIFETIME", durationSetter(&c.SessionLifetime)},
		{"argon2_memory_kib", "GATEHOUSE_ARGON2_MEMORY_KIB", int64Setter(&c.Argon2MemoryKiB)},
		{"argon2_iterations", "GATEHOUSE_ARGON2_ITERATIONS", int64Setter(&c.Argon2Iterations)},
		{"argon2_parallelism", "GATEHOUSE_ARGON2_PARALLELISM", int64Setter(&c.Argon2Parallelism)},
		{"pkce_allow_plain", "GATEHOUSE_PKCE_ALLOW_PLAIN", boolSetter(&c.PKCEAllowPlain)},
		{"registration_policy", "GATEHOUSE_REGISTRATION_POLICY", stringSetter(&c.RegistrationPolicy)},
		{"reserved_scopes", "GATEHOUSE_RESERVED_SCOPES", stringSetter(&c.ReservedScopes)},
		{"outbound_allow_cidrs", "GATEHOUSE_OUTBOUND_ALLOW_CIDRS", stringSetter(&c.OutboundAllowCIDRs)},
		{"dev_allow_loopback_urls", "GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS", boolSetter(&c.DevAllowLoopbackURLs)},
		{"trusted_proxies", "GATEHOUSE_TRUSTED_PROXIES", stringSetter(&c.TrustedProxies)},
		{"metrics_addr", "GATEHOUSE_METRICS_ADDR", stringSetter(&c.MetricsAddr)},
		{"password_min_length", "GATEHOUSE_PASSWORD_MIN_LENGTH", int64Setter(&c.PasswordMinLength)},
		{"throttle_enabled", "GATEHOUSE_THROTTLE_ENABLED", boolSetter(&c.ThrottleEnabled)},
		{"throttle_account_failures", "GATEHOUSE_THROTTLE_ACCOUNT_FAILURES", int64Setter(&c.ThrottleAccountFailures)},
		{"throttle_account_ip_failures", "GATEHOUSE_THROTTLE_ACCOUNT_IP_FAILURES", int64Setter(&c.ThrottleAccountIPFailures)},
		{"throttle_ip_failures", "GATEHOUSE_THROTTLE_IP_FAILURES", int64Setter(&c.ThrottleIPFailures)},
		{"throttle_device_failures", "GATEHOUSE_THROTTLE_DEVICE_FAILURES", int64Setter(&c.ThrottleDeviceFailures)},
		{"throttle_client_failures", "GATEHOUSE_THROTTLE_CLIENT_FAILURES", int64Setter(&c.ThrottleClientFailures)},
		{"throttle_registrations_per_ip", "GATEHOUSE_THROTTLE_REGISTRATIONS_PER_IP", int64Setter(&c.ThrottleRegistrationsPerIP)},
		{"throttle_backoff_base", "GATEHOUSE_THROTTLE_BACKOFF_BASE", durationSetter(&c.ThrottleBackoffBase)},
		{"throttle_backoff_max", "GATEHOUSE_THROTTLE_BACKOFF_MAX", durationSetter(&c.ThrottleBackoffMax)},
		{"throttle_memory_counters", "GATEHOUSE_THROTTLE_MEMORY_COUNTERS", int64Setter(&c.ThrottleMemoryCounters)},
		{"trusted_proxy_header", "GATEHOUSE_TRUSTED_PROXY_HEADER", stringSetter(&c.TrustedProxyHeader)},
		{"google_enabled", "GATEHOUSE_GOOGLE_ENABLED", boolSetter(&c.GoogleEnabled)},
		{"google_client_id", "GATEHOUSE_GOOGLE_CLIENT_ID", stringSetter(&c.GoogleClientID)},
		{"google_client_secret", "GATEHOUSE_GOOGLE_CLIENT_SECRET", stringSetter(&c.GoogleClientSecret)},
		{"google_scopes", "GATEHOUSE_GOOGLE_SCOPES", stringSetter(&c.GoogleScopes)},
		{"google_trust_email", "GATEHOUSE_GOOGLE_TRUST_EMAIL", stringSetter(&c.GoogleTrustEmail)},
		{"facebook_enabled", "GATEHOUSE_FACEBOOK_ENABLED", boolSetter(&c.FacebookEnabled)},
		{"facebook_client_id", "GATEHOUSE_FACEBOOK_CLIENT_ID", stringSetter(&c.FacebookClientID)},
		{"facebook_client_secret", "GATEHOUSE_FACEBOOK_CLIENT_SECRET", stringSetter(&c.FacebookClientSecret)},
		{"facebook_scopes", "GATEHOUSE_FACEBOOK_SCOPES", stringSetter(&c.FacebookScopes)},
		{"facebook_trust_email", "GATEHOUSE_FACEBOOK_TRUST_EMAIL", stringSetter(&c.FacebookTrustEmail)},
		{"github_enabled", "GATEHOUSE_GITHUB_ENABLED", boolSetter(&c.GitHubEnabled)},
		{"github_client_id", "GATEHOUSE_GITHUB_CLIENT_ID", stringSetter(&c.GitHubClientID)},
		{"github_client_secret", "GATEHOUSE_GITHUB_CLIENT_SECRET", stringSetter(&c.GitHubClientSecret)},
		{"github_scopes", "GATEHOUSE_GITHUB_SCOPES", stringSetter(&c.GitHubScopes)},
		{"github_trust_email", "GATEHOUSE_GITHUB_TRUST_EMAIL", stringSetter(&c.GitHubTrustEmail)},
		{"apple_enabled", "GATEHOUSE_APPLE_ENABLED", boolSetter(&c.AppleEnabled)},
		{"apple_client_id", "GATEHOUSE_APPLE_CLIENT_ID", stringSetter(&c.AppleClientID)},
		{"apple_team_id", "GATEHOUSE_APPLE_TEAM_ID", stringSetter(&c.AppleTeamID)},
		{"apple_key_id", "GATEHOUSE_APPLE_KEY_ID", stringSetter(&c.AppleKeyID)},
		{"apple_private_key_file", "GATEHOUSE_APPLE_PRIVATE_KEY_FILE", stringSetter(&c.ApplePrivateKeyFile)},
		{"apple_scopes", "GATEHOUSE_APPLE_SCOPES", stringSetter(&c.AppleScopes)},
		{"apple_trust_email", "GATEHOUSE_APPLE_TRUST_EMAIL", stringSetter(&c.AppleTrustEmail)},
		{"oidc_enabled", "GATEHOUSE_OIDC_ENABLED", boolSetter(&c.OIDCEnabled)},
		{"oidc_name", "GATEHOUSE_OIDC_NAME", stringSetter(&c.OIDCName)},
		{"oidc_issuer", "GATEHOUSE_OIDC_ISSUER", stringSetter(&c.OIDCIssuer)},
		{"oidc_client_id", "GATEHOUSE_OIDC_CLIENT_ID", stringSetter(&c.OIDCClientID)},
		{"oidc_client_secret", "GATEHOUSE_OIDC_CLIENT_SECRET", stringSetter(&c.OIDCClientSecret)},
		{"oidc_scopes", "GATEHOUSE_OIDC_SCOPES", stringSetter(&c.OIDCScopes)},
		{"oidc_trust_email", "GATEHOUSE_OIDC_TRUST_EMAIL", stringSetter(&c.OIDCTrustEmail)},
		{"auto_link_verified_email", "GATEHOUSE_AUTO_LINK_VERIFIED_EMAIL", boolSetter(&c.AutoLinkVerifiedEmail)},
		{"shutdown_drain_delay", "GATEHOUSE_SHUTDOWN_DRAIN_DELAY", durationSetter(&c.ShutdownDrainDelay)},
		{"event_retention", "GATEHOUSE_EVENT_RETENTION", durationSetter(&c.EventRetention)},
		{"webhook_retry_horizon", "GATEHOUSE_WEBHOOK_RETRY_HORIZON", durationSetter(&c.WebhookRetryHorizon)},
		{"sqlite_wal_max_bytes", "GATEHOUSE_SQLITE_WAL_MAX_BYTES", int64Setter(&c.SQLiteWALMaxBytes)},
		{"smtp_host", "GATEHOUSE_SMTP_HOST", stringSetter(&c.SMTPHost)},
		{"smtp_port", "GATEHOUSE_SMTP_PORT", int64Setter(&c.SMTPPort)},
		{"smtp_tls", "GATEHOUSE_SMTP_TLS", stringSetter(&c.SMTPTLS)},
		{"smtp_username", "GATEHOUSE_SMTP_USERNAME", stringSetter(&c.SMTPUsername)},
		{"smtp_password", "GATEHOUSE_SMTP_PASSWORD", stringSetter(&c.SMTPPassword)},
		{"smtp_from", "GATEHOUSE_SMTP_FROM", stringSetter(&c.SMTPFrom)},
		{"mail_outbox_dir", "GATEHOUSE_MAIL_OUTBOX_DIR", stringSetter(&c.MailOutboxDir)},
		{"mail_hourly_limit", "GATEHOUSE_MAIL_HOURLY_LIMIT", int64Setter(&c.MailHourlyLimit)},
		{"mfa_policy", "GATEHOUSE_MFA_POLICY", stringSetter(&c.MFAPolicy)},
		{"reauth_max_age", "GATEHOUSE_REAUTH_MAX_AGE", durationSetter(&c.ReauthMaxAge)},
		{"throttle_mfa_failures", "GATEHOUSE_THROTTLE_MFA_FAILURES", int64Setter(&c.ThrottleMFAFailures)},
		{"signup_enabled", "GATEHOUSE_SIGNUP_ENABLED", boolSetter(&c.SignUpEnabled)},
		{"signup_required_fields", "GATEHOUSE_SIGNUP_REQUIRED_FIELDS", stringSetter(&c.SignUpRequiredFields)},
		{"terms_url", "GATEHOUSE_TERMS_URL", stringSetter(&c.TermsURL)},
		{"federation_signup", "GATEHOUSE_FEDERATION_SIGNUP", boolSetter(&c.FederationSignUp)},
		{"unverified_sign_in", "GATEHOUSE_UNVERIFIED_SIGN_IN", boolSetter(&c.UnverifiedSignIn)},
		{"email_verification_lifetime", "GATEHOUSE_EMAIL_VERIFICATION_LIFETIME", durationSetter(&c.EmailVerificationLifetime)},
		{"password_reset_lifetime", "GATEHOUSE_PASSWORD_RESET_LIFETIME", durationSetter(&c.PasswordResetLifetime)},
		{"email_code_sign_in", "GATEHOUSE_EMAIL_CODE_SIGN_IN", boolSetter(&c.EmailCodeSignIn)},
		{"email_code_lifetime", "GATEHOUSE_EMAIL_CODE_LIFETIME", durationSetter(&c.EmailCodeLifetime)},
		{"new_device_alert", "GATEHOUSE_NEW_DEVICE_ALERT", boolSetter(&c.NewDeviceAlert)},
		{"throttle_signups_per_ip", "GATEHOUSE_THROTTLE_SIGNUPS_PER_IP", int64Setter(&c.ThrottleSignUpsPerIP)},
		{"throttle_mail_requests_per_ip", "GATEHOUSE_THROTTLE_MAIL_REQUESTS_PER_IP", int64Setter(&c.ThrottleMailRequestsPerIP)},
		{"throttle_email_code_failures", "GATEHOUSE_THROTTLE_EMAIL_CODE_FAILURES", int64Setter(&c.ThrottleEmailCodeFailures)},
		{"email_change_link_ttl", "GATEHOUSE_EMAIL_CHANGE_LINK_TTL", durationSetter(&c.EmailChangeLinkTTL)},
		{"passkeys", "GATEHOUSE_PASSKEYS", boolSetter(&c.Passkeys)},
		{"token_cache_ttl", "GATEHOUSE_TOKEN_CACHE_TTL", durationSetter(&c.TokenCacheTTL)},
		{"attributes_file", "GATEHOUSE_ATTRIBUTES_FILE", stringSetter(&c.AttributesFile)},
		{"mfa_remember_device_days", "GATEHOUSE_MFA_REMEMBER_DEVICE_DAYS", int64Setter(&c.MFARememberDeviceDays)},
		{"throttle_passkey_begins", "GATEHOUSE_THROTTLE_PASSKEY_BEGINS", int64Setter(&c.ThrottlePasskeyBegins)},
		{"geoip_database", "GATEHOUSE_GEOIP_DATABASE", stringSetter(&c.GeoIPDatabase)},
		{"branding_product_name", "GATEHOUSE_BRANDING_PRODUCT_NAME", stringSetter(&c.BrandingProductName)},
		{"branding_logo_url", "GATEHOUSE_BRANDING_LOGO_URL", stringSetter(&c.BrandingLogoURL)},
		{"branding_favicon_url", "GATEHOUSE_BRANDING_FAVICON_URL", stringSetter(&c.BrandingFaviconURL)},
		{"branding_primary_color", "GATEHOUSE_BRANDING_PRIMARY_COLOR", stringSetter(&c.BrandingPrimaryColor)},
		{"branding_custom_css_file", "GATEHOUSE_BRANDING_CUSTOM_CSS_FILE", stringSetter(&c.BrandingCustomCSSFile)},
		{"branding_privacy_url", "GATEHOUSE_BRANDING_PRIVACY_URL", stringSetter(&c.BrandingPrivacyURL)},
		{"templates_dir", "GATEHOUSE_TEMPLATES_DIR", stringSetter(&c.TemplatesDir)},
	}
}

// Load returns Default(), overlaid by the YAML file at path when path is
// not empty, then by the GATEHOUSE_* environment variables that lookupEnv
// reports as set. Pass os.LookupEnv in production; a nil lookupEnv reads no
// environment. A variable set to the empty string counts as set.
//
// The file must exist, hold one YAML mapping and use only known keys.
// Durations are written with a unit ("90s", "5m", "1h"); booleans as true
// or false. A malformed value, in the file or the environment, is an error
// naming the key or the variable. Load does not validate: call Validate.
func Load(path string, lookupEnv func(string) (string, bool)) (Config, error) {
	c := Default()
	if path != "" {
		if err := loadFile(&c, path); err != nil {
			return Config{}, err
		}
	}
	if lookupEnv != nil {
		for _, s := range settings(&c) {
			v, ok := lookupEnv(s.env)
			if !ok {
				continue
			}
			if err := s.set(v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", s.env, err)
			}
		}
	}
	if err := loadAttributesFile(&c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ValidationError lists every problem Validate found. Each problem starts
// with the environment variable of the setting it is about.
type ValidationError struct {
	// Problems holds one message per broken rule, in a stable order.
	Problems []string
}

// Error joins the problems with "; ".
func (e *ValidationError) Error() string {
	return strings.Join(e.Problems, "; ")
}

// msgSecretRequired is reported, by Validate and EnsureSecret, when the
// database is PostgreSQL and no secret is set.
const msgSecretRequired = "GATEHOUSE_SECRET: required on PostgreSQL (generate one with: openssl rand -base64 48)"

// LogValue implements slog.LogValuer, so that logging a Config never shows
// the secret or a database password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.Bool("secret_set", c.Secret != ""),
		slog.Bool("auto_migrate", c.AutoMigrate),
		slog.String("access_token_lifetime", c.AccessTokenLifetime.String()),
		slog.String("refresh_token_lifetime", c.RefreshTokenLifetime.String()),
		slog.String("authorization_code_lifetime", c.AuthorizationCodeLifetime.String()),
		slog.String("id_token_lifetime", c.IDTokenLifetime.String()),
		slog.String("keys_refresh_interval", c.KeysRefreshInterval.String()),
		slog.String("client_cache_ttl", c.ClientCacheTTL.String()),
		slog.String("log_level", c.LogLevel),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.Int64("max_request_bytes", c.MaxRequestBytes),
		slog.String("session_idle_timeout", c.SessionIdleTimeout.String()),
		slog.String("session_lifetime", c.SessionLifetime.String()),
		slog.Int64("argon2_memory_kib", c.Argon2MemoryKiB),
		slog.Int64("argon2_iterations", c.Argon2Iterations),
		slog.Int64("argon2_parallelism", c.Argon2Parallelism),
		slog.Bool("pkce_allow_plain", c.PKCEAllowPlain),
		slog.String("registration_policy", c.RegistrationPolicy),
		slog.String("reserved_scopes", c.ReservedScopes),
		slog.String("outbound_allow_cidrs", c.OutboundAllowCIDRs),
		slog.Bool("dev_allow_loopback_urls", c.DevAllowLoopbackURLs),
		slog.String("trusted_proxies", c.TrustedProxies),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Int64("password_min_length", c.PasswordMinLength),
		slog.Bool("throttle_enabled", c.ThrottleEnabled),
		slog.Int64("throttle_account_failures", c.ThrottleAccountFailures),
		slog.Int64("throttle_account_ip_failures", c.ThrottleAccountIPFailures),
		slog.Int64("throttle_ip_failures", c.ThrottleIPFailures),
		slog.Int64("throttle_device_failures", c.ThrottleDeviceFailures),
		slog.Int64("throttle_client_failures", c.ThrottleClientFailures),
		slog.Int64("throttle_registrations_per_ip", c.ThrottleRegistrationsPerIP),
		slog.String("throttle_backoff_base", c.ThrottleBackoffBase.String()),
		slog.String("throttle_backoff_max", c.ThrottleBackoffMax.String()),
		slog.Int64("throttle_memory_counters", c.ThrottleMemoryCounters),
		slog.String("trusted_proxy_header", c.TrustedProxyHeader),
		// Which providers are on, never their secrets.
		slog.String("social_providers", strings.Join(c.socialProviderIDs(), ",")),
		slog.Bool("auto_link_verified_email", c.AutoLinkVerifiedEmail),
		slog.String("shutdown_drain_delay", c.ShutdownDrainDelay.String()),
		slog.String("event_retention", c.EventRetention.String()),
		slog.String("webhook_retry_horizon", c.WebhookRetryHorizon.String()),
		slog.Int64("sqlite_wal_max_bytes", c.SQLiteWALMaxBytes),
		slog.String("smtp_host", c.SMTPHost),
		slog.Int64("smtp_port", c.SMTPPort),
		slog.String("smtp_tls", c.SMTPTLS),
		slog.String("smtp_username", c.SMTPUsername),
		// Whether the SMTP password is set, never the password.
		slog.Bool("smtp_password_set", c.SMTPPassword != ""),
		slog.String("smtp_from", c.SMTPFrom),
		slog.String("mail_outbox_dir", c.MailOutboxDir),
		slog.Int64("mail_hourly_limit", c.MailHourlyLimit),
		slog.String("mfa_policy", c.MFAPolicy),
		slog.String("reauth_max_age", c.ReauthMaxAge.String()),
		slog.Int64("throttle_mfa_failures", c.ThrottleMFAFailures),
		slog.Bool("signup_enabled", c.SignUpEnabled),
		slog.String("signup_required_fields", c.SignUpRequiredFields),
		slog.String("terms_url", c.TermsURL),
		slog.Bool("federation_signup", c.FederationSignUp),
		slog.Bool("unverified_sign_in", c.UnverifiedSignIn),
		slog.String("email_verification_lifetime", c.EmailVerificationLifetime.String()),
		slog.String("password_reset_lifetime", c.PasswordResetLifetime.String()),
		slog.Bool("email_code_sign_in", c.EmailCodeSignIn),
		slog.String("email_code_lifetime", c.EmailCodeLifetime.String()),
		slog.Bool("new_device_alert", c.NewDeviceAlert),
		slog.Int64("throttle_signups_per_ip", c.ThrottleSignUpsPerIP),
		slog.Int64("throttle_mail_requests_per_ip", c.ThrottleMailRequestsPerIP),
		slog.Int64("throttle_email_code_failures", c.ThrottleEmailCodeFailures),
		slog.String("email_change_link_ttl", c.EmailChangeLinkTTL.String()),
		slog.Bool("passkeys", c.Passkeys),
		slog.String("token_cache_ttl", c.TokenCacheTTL.String()),
		slog.Int("attributes", len(c.Attributes)),
		slog.String("attributes_file", c.AttributesFile),
		slog.Int64("mfa_remember_device_days", c.MFARememberDeviceDays),
		slog.Int64("throttle_passkey_begins", c.ThrottlePasskeyBegins),
		slog.String("geoip_database", c.GeoIPDatabase),
		slog.String("branding_product_name", c.BrandingProductName),
		slog.String("branding_logo_url", c.BrandingLogoURL),
		slog.String("branding_favicon_url", c.BrandingFaviconURL),
		slog.String("branding_primary_color", c.BrandingPrimaryColor),
		slog.String("branding_custom_css_file", c.BrandingCustomCSSFile),
		slog.String("branding_privacy_url", c.BrandingPrivacyURL),
		slog.String("templates_dir", c.TemplatesDir),
	)
}

// redactURL hides the password of a URL, in its user information or in a
// password query parameter (accepted by PostgreSQL drivers).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// SignUpRequired reports whether the sign-up form requires the field
// ("name"), by SignUpRequiredFields.
func (c Config) SignUpRequired(field string) bool {
	for _, f := range strings.FieldsFunc(c.SignUpRequiredFields, func(r rune) bool { return r == ',' || r == ' ' }) {
		if f == field {
			return true
		}
	}
	return false
}
