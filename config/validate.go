package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/secret"
)

// Limits of the settings that have them.
const (
	minAccessTokenLifetime       = time.Minute
	maxAccessTokenLifetime       = 24 * time.Hour
	minRefreshTokenLifetime      = time.Hour
	minAuthorizationCodeLifetime = 10 * time.Second
	maxAuthorizationCodeLifetime = 10 * time.Minute
	minIDTokenLifetime           = time.Minute
	maxIDTokenLifetime           = 24 * time.Hour
	minKeysRefreshInterval       = time.Second
	maxKeysRefreshInterval       = 10 * time.Minute
	minClientCacheTTL            = 0
	maxClientCacheTTL            = 5 * time.Minute
	minShutdownTimeout           = time.Second
	maxShutdownTimeout           = 10 * time.Minute
	minMaxRequestBytes           = 1024
	maxMaxRequestBytes           = 10 << 20
	minSessionIdleTimeout        = 5 * time.Minute
	maxSessionLifetime           = 365 * 24 * time.Hour
	minSessionLifetime           = time.Hour
	minArgon2MemoryKiB           = 8 * 1024
	maxArgon2MemoryKiB           = 1024 * 1024
	maxArgon2Iterations          = 10
	maxArgon2Parallelism         = 16
	minThrottleBackoffBase       = 10 * time.Millisecond
	maxThrottleBackoffMax        = 24 * time.Hour
	maxThrottleBudget            = 1_000_000
	minThrottleMemoryCounters    = 1000
	maxThrottleMemoryCounters    = 10_000_000
	minShutdownDrainDelay        = 0
	maxShutdownDrainDelay        = 5 * time.Minute
	minEventRetention            = time.Hour
	minReauthMaxAge              = 30 * time.Second
	maxReauthMaxAge              = time.Hour
	minEmailChangeLinkTTL        = 5 * time.Minute
	maxEmailChangeLinkTTL        = 7 * 24 * time.Hour
	maxEventRetention            = 10 * 365 * 24 * time.Hour
	minWebhookRetryHorizon       = time.Second
	maxWebhookRetryHorizon       = 30 * 24 * time.Hour
	minSQLiteWALMaxBytes         = 1 << 20
	maxSQLiteWALMaxBytes         = 1 << 40
	// maxMFARememberDeviceDays bounds remembering a browser for the second
	// factor to a year, less than the device cookie's 400 days.
	maxMFARememberDeviceDays = 365
)

// check is one validation rule: when bad, msg is reported.
type check struct {
	bad bool
	msg string
}

// Validate checks every setting. It returns nil, or a *ValidationError that
// lists every problem, each naming the setting by its environment variable.
// An empty Secret is accepted on SQLite, where EnsureSecret fills it.
func (c Config) Validate() error {
	iss, issErr := url.Parse(c.Issuer)
	issuerURL := c.Issuer != "" && issErr == nil && iss.Scheme != "" && iss.Host != "" && iss.Opaque == ""
	issuerGot := c.Issuer
	if issErr == nil {
		issuerGot = iss.Redacted()
	}
	webScheme := issuerURL && (iss.Scheme == "https" || iss.Scheme == "http")

	db, dbErr := c.Database()

	checks := []check{
		{c.Issuer == "", "GATEHOUSE_ISSUER: required"},
		{c.Issuer != "" && !issuerURL, fmt.Sprintf("GATEHOUSE_ISSUER: must be an absolute URL with a scheme and a host, such as https://id.example.com (got %q)", issuerGot)},
		{issuerURL && !webScheme, fmt.Sprintf("GATEHOUSE_ISSUER: must use https (got %s)", issuerGot)},
		{webScheme && iss.Scheme == "http" && !isLoopbackName(iss.Hostname()), fmt.Sprintf("GATEHOUSE_ISSUER: must use https unless the host is localhost, 127.0.0.1 or [::1] (got %s)", issuerGot)},
		{issuerURL && iss.User != nil, "GATEHOUSE_ISSUER: must not contain a user name or password"},
		{issuerURL && strings.ContainsAny(c.Issuer, "?#"), fmt.Sprintf("GATEHOUSE_ISSUER: must not have a query or a fragment (got %s)", issuerGot)},
		{issuerURL && strings.HasSuffix(c.Issuer, "/"), fmt.Sprintf(`GATEHOUSE_ISSUER: must not end with "/" (got %s)`, issuerGot)},

		{!isHostPort(c.HTTPAddr), fmt.Sprintf(`GATEHOUSE_HTTP_ADDR: must be host:port with a numeric port, such as ":8080" or "127.0.0.1:8080" (got %q)`, c.HTTPAddr)},

		{dbErr != nil, errorText(dbErr)},

		{c.Secret != "" && len(c.Secret) < secret.MinLength, fmt.Sprintf("GATEHOUSE_SECRET: must be at least %d bytes (got %d)", secret.MinLength, len(c.Secret))},
		{c.Secret == "" && dbErr == nil && db.Kind == DatabasePostgres, msgSecretRequired},

		outside("GATEHOUSE_ACCESS_TOKEN_LIFETIME", c.AccessTokenLifetime, minAccessTokenLifetime, maxAccessTokenLifetime),
		{c.RefreshTokenLifetime < minRefreshTokenLifetime, fmt.Sprintf("GATEHOUSE_REFRESH_TOKEN_LIFETIME: must be at least %s (got %s)", formatDuration(minRefreshTokenLifetime), formatDuration(c.RefreshTokenLifetime))},
		outside("GATEHOUSE_AUTHORIZATION_CODE_LIFETIME", c.AuthorizationCodeLifetime, minAuthorizationCodeLifetime, maxAuthorizationCodeLifetime),
		outside("GATEHOUSE_ID_TOKEN_LIFETIME", c.IDTokenLifetime, minIDTokenLifetime, maxIDTokenLifetime),
		outside("GATEHOUSE_KEYS_REFRESH_INTERVAL", c.KeysRefreshInterval, minKeysRefreshInterval, maxKeysRefreshInterval),
		outside("GATEHOUSE_CLIENT_CACHE_TTL", c.ClientCacheTTL, minClientCacheTTL, maxClientCacheTTL),
		// The documented bound on a revocation's reach (docs/flows.md).
		outside("GATEHOUSE_TOKEN_CACHE_TTL", c.TokenCacheTTL, 0, time.Second),
		outside("GATEHOUSE_SHUTDOWN_TIMEOUT", c.ShutdownTimeout, minShutdownTimeout, maxShutdownTimeout),

		{!slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel), fmt.Sprintf("GATEHOUSE_LOG_LEVEL: must be one of debug, info, warn, error (got %q)", c.LogLevel)},

		outside("GATEHOUSE_SESSION_IDLE_TIMEOUT", c.SessionIdleTimeout, minSessionIdleTimeout, maxSessionLifetime),
		outside("GATEHOUSE_SESSION_LIFETIME", c.SessionLifetime, minSessionLifetime, maxSessionLifetime),
		{c.SessionIdleTimeout > c.SessionLifetime, fmt.Sprintf("GATEHOUSE_SESSION_IDLE_TIMEOUT: must not exceed GATEHOUSE_SESSION_LIFETIME (%s > %s)", formatDuration(c.SessionIdleTimeout), formatDuration(c.SessionLifetime))},
		{c.Argon2MemoryKiB < minArgon2MemoryKiB || c.Argon2MemoryKiB > maxArgon2MemoryKiB, fmt.Sprintf("GATEHOUSE_ARGON2_MEMORY_KIB: must be between %d and %d (got %d)", minArgon2MemoryKiB, maxArgon2MemoryKiB, c.Argon2MemoryKiB)},
		{c.Argon2Iterations < 1 || c.Argon2Iterations > maxArgon2Iterations, fmt.Sprintf("GATEHOUSE_ARGON2_ITERATIONS: must be between 1 and %d (got %d)", maxArgon2Iterations, c.Argon2Iterations)},
		{c.Argon2Parallelism < 1 || c.Argon2Parallelism > maxArgon2Parallelism, fmt.Sprintf("GATEHOUSE_ARGON2_PARALLELISM: must be between 1 and %d (got %d)", maxArgon2Parallelism, c.Argon2Parallelism)},

		{!slices.Contains([]string{"closed", "initial-access-token", "open"}, c.RegistrationPolicy), fmt.Sprintf("GATEHOUSE_REGISTRATION_POLICY: must be closed, initial-access-token or open (got %q)", c.RegistrationPolicy)},

		{c.MaxRequestBytes < minMaxRequestBytes || c.MaxRequestBytes > maxMaxRequestBytes, fmt.Sprintf("GATEHOUSE_MAX_REQUEST_BYTES: must be between %d and %d (got %d)", minMaxRequestBytes, maxMaxRequestBytes, c.MaxRequestBytes)},
	}

	_, outboundErr := c.OutboundAllowPrefixes()
	_, proxiesErr := c.TrustedProxyPrefixes()
	checks = append(checks,
		check{outboundErr != nil, errorText(outboundErr)},
		check{proxiesErr != nil, errorText(proxiesErr)},
		badScopes("GATEHOUSE_RESERVED_SCOPES", c.ReservedScopes),
		check{c.MetricsAddr != "off" && !isHostPort(c.MetricsAddr), fmt.Sprintf(`GATEHOUSE_METRICS_ADDR: must be host:port with a numeric port, such as ":9000", or off (got %q)`, c.MetricsAddr)},
		check{c.MetricsAddr != "off" && isHostPort(c.MetricsAddr) && isHostPort(c.HTTPAddr) && samePort(c.MetricsAddr, c.HTTPAddr), fmt.Sprintf("GATEHOUSE_METRICS_ADDR: must not use the port of GATEHOUSE_HTTP_ADDR (%s); set another port, or off", c.HTTPAddr)},
		check{c.PasswordMinLength < 8 || c.PasswordMinLength > 64, fmt.Sprintf("GATEHOUSE_PASSWORD_MIN_LENGTH: must be between 8 and 64 (got %d)", c.PasswordMinLength)},
		budget("GATEHOUSE_THROTTLE_ACCOUNT_FAILURES", c.ThrottleAccountFailures),
		budget("GATEHOUSE_THROTTLE_ACCOUNT_IP_FAILURES", c.ThrottleAccountIPFailures),
		budget("GATEHOUSE_THROTTLE_IP_FAILURES", c.ThrottleIPFailures),
		budget("GATEHOUSE_THROTTLE_DEVICE_FAILURES", c.ThrottleDeviceFailures),
		budget("GATEHOUSE_THROTTLE_CLIENT_FAILURES", c.ThrottleClientFailures),
		budget("GATEHOUSE_THROTTLE_REGISTRATIONS_PER_IP", c.ThrottleRegistrationsPerIP),
		outside("GATEHOUSE_THROTTLE_BACKOFF_BASE", c.ThrottleBackoffBase, minThrottleBackoffBase, maxThrottleBackoffMax),
		outside("GATEHOUSE_THROTTLE_BACKOFF_MAX", c.ThrottleBackoffMax, minThrottleBackoffBase, maxThrottleBackoffMax),
		check{c.ThrottleBackoffBase > c.ThrottleBackoffMax, fmt.Sprintf("GATEHOUSE_THROTTLE_BACKOFF_BASE: must not exceed GATEHOUSE_THROTTLE_BACKOFF_MAX (%s > %s)", formatDuration(c.ThrottleBackoffBase), formatDuration(c.ThrottleBackoffMax))},
		check{c.SQLiteWALMaxBytes < minSQLiteWALMaxBytes || c.SQLiteWALMaxBytes > maxSQLiteWALMaxBytes, fmt.Sprintf("GATEHOUSE_SQLITE_WAL_MAX_BYTES: must be between %d and %d (got %d)", minSQLiteWALMaxBytes, int64(maxSQLiteWALMaxBytes), c.SQLiteWALMaxBytes)},
		check{c.ThrottleMemoryCounters < minThrottleMemoryCounters || c.ThrottleMemoryCounters > maxThrottleMemoryCounters, fmt.Sprintf("GATEHOUSE_THROTTLE_MEMORY_COUNTERS: must be between %d and %d (got %d)", minThrottleMemoryCounters, maxThrottleMemoryCounters, c.ThrottleMemoryCounters)},
		check{!strings.EqualFold(c.TrustedProxyHeader, "X-Forwarded-For") && !strings.EqualFold(c.TrustedProxyHeader, "Forwarded"), fmt.Sprintf("GATEHOUSE_TRUSTED_PROXY_HEADER: must be X-Forwarded-For or Forwarded (got %q)", c.TrustedProxyHeader)},
	)
	checks = append(checks, c.socialChecks()...)
	checks = append(checks, outside("GATEHOUSE_SHUTDOWN_DRAIN_DELAY", c.ShutdownDrainDelay, minShutdownDrainDelay, maxShutdownDrainDelay))
	if c.EventRetention != 0 {
		checks = append(checks, outside("GATEHOUSE_EVENT_RETENTION", c.EventRetention, minEventRetention, maxEventRetention))
	}
	checks = append(checks, outside("GATEHOUSE_WEBHOOK_RETRY_HORIZON", c.WebhookRetryHorizon, minWebhookRetryHorizon, maxWebhookRetryHorizon))

	checks = append(checks, c.mailChecks()...)
	checks = append(checks,
		check{c.MFAPolicy != "optional" && c.MFAPolicy != "required", fmt.Sprintf("GATEHOUSE_MFA_POLICY: must be optional or required (got %q)", c.MFAPolicy)},
		outside("GATEHOUSE_REAUTH_MAX_AGE", c.ReauthMaxAge, minReauthMaxAge, maxReauthMaxAge),
		budget("GATEHOUSE_THROTTLE_MFA_FAILURES", c.ThrottleMFAFailures),
		outside("GATEHOUSE_EMAIL_CHANGE_LINK_TTL", c.EmailChangeLinkTTL, minEmailChangeLinkTTL, maxEmailChangeLinkTTL),
	)
	checks = append(checks, c.selfServiceChecks()...)
	checks = append(checks, c.attributeChecks()...)
	checks = append(checks,
		check{c.MFARememberDeviceDays < 0 || c.MFARememberDeviceDays > maxMFARememberDeviceDays, fmt.Sprintf("GATEHOUSE_MFA_REMEMBER_DEVICE_DAYS: must be between 0 and %d (got %d)", maxMFARememberDeviceDays, c.MFARememberDeviceDays)},
		budget("GATEHOUSE_THROTTLE_PASSKEY_BEGINS", c.ThrottlePasskeyBegins),
	)
	if c.GeoIPDatabase != "" {
		_, err := os.Stat(c.GeoIPDatabase)
		checks = append(checks, check{err != nil, fmt.Sprintf("GATEHOUSE_GEOIP_DATABASE: %s", errorText(err))})
	}
	checks = append(checks, c.brandingChecks()...)

	var problems []string
	for _, ch := range checks {
		if ch.bad {
			problems = append(problems, ch.msg)
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// budget is the rule for a throttling budget: how many events go through
// before the waits start.
func budget(env string, n int64) check {
	return check{n < 1 || n > maxThrottleBudget, fmt.Sprintf("%s: must be between 1 and %d (got %d)", env, maxThrottleBudget, n)}
}

// outside is the rule that d lies between lo and hi, both included.
func outside(env string, d, lo, hi time.Duration) check {
	return check{
		bad: d < lo || d > hi,
		msg: fmt.Sprintf("%s: must be between %s and %s (got %s)", env, formatDuration(lo), formatDuration(hi), formatDuration(d)),
	}
}

// isLoopbackName reports whether host (without brackets) is one of the
// names for which the issuer may use plain http.
func isLoopbackName(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

// isHostPort reports whether addr is host:port with a port from 0 to 65535.
// The host may be empty (every interface).
func isHostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// samePort reports whether two host:port addresses name the same port
// (each listens on it, whatever the hosts, so the second would be busy).
func samePort(a, b string) bool {
	_, pa, _ := net.SplitHostPort(a)
	_, pb, _ := net.SplitHostPort(b)
	return pa == pb && pa != "0"
}

// formatDuration writes d without the zero tails of time.Duration.String:
// "1h" rather than "1h0m0s", "10m" rather than "10m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// errorText returns err's message, or "" for nil.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// selfServiceChecks are the rules of sign-up, email verification,
// password reset and email codes (docs/self-service.md).
func (c Config) selfServiceChecks() []check {
	checks := []check{
		outside("GATEHOUSE_EMAIL_VERIFICATION_LIFETIME", c.EmailVerificationLifetime, 5*time.Minute, 7*24*time.Hour),
		outside("GATEHOUSE_PASSWORD_RESET_LIFETIME", c.PasswordResetLifetime, 5*time.Minute, 2*time.Hour),
		outside("GATEHOUSE_EMAIL_CODE_LIFETIME", c.EmailCodeLifetime, time.Minute, 30*time.Minute),
		budget("GATEHOUSE_THROTTLE_SIGNUPS_PER_IP", c.ThrottleSignUpsPerIP),
		budget("GATEHOUSE_THROTTLE_MAIL_REQUESTS_PER_IP", c.ThrottleMailRequestsPerIP),
		budget("GATEHOUSE_THROTTLE_EMAIL_CODE_FAILURES", c.ThrottleEmailCodeFailures),
	}
	for _, f := range strings.FieldsFunc(c.SignUpRequiredFields, func(r rune) bool { return r == ',' || r == ' ' }) {
		checks = append(checks, check{f != "name", fmt.Sprintf("GATEHOUSE_SIGNUP_REQUIRED_FIELDS: unknown field %q (known: name)", f)})
	}
	if c.TermsURL != "" {
		u, err := url.Parse(c.TermsURL)
		checks = append(checks, check{err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "",
			"GATEHOUSE_TERMS_URL: must be an absolute http(s) URL"})
	}
	return checks
}
