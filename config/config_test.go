package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// env returns a lookupEnv backed by m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeFile writes content to a new file in a temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// problems returns the problems of a Validate error, failing the test when
// err is not a *ValidationError.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate returned %T (%v), want *ValidationError", err, err)
	}
	return ve.Problems
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadWithoutFileOrEnvironmentGivesDefault(t *testing.T) {
	for name, lookup := range map[string]func(string) (string, bool){
		"nil lookupEnv":   nil,
		"empty lookupEnv": env(nil),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Load("", lookup)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("Load = %+v, want %+v", c, Default())
			}
		})
	}
}

// TestSettingsTableCoversConfig keeps the settings table in step with the
// Config struct: one entry per field, same YAML key, and the environment
// variable derived from it.
func TestSettingsTableCoversConfig(t *testing.T) {
	var c Config
	table := settings(&c)
	typ := reflect.TypeFor[Config]()
	// Every field has a setting but Attributes, the one list, read by
	// the file loader itself (and from GATEHOUSE_ATTRIBUTES_FILE).
	var fields []reflect.StructField
	for i := range typ.NumField() {
		if f := typ.Field(i); f.Name != "Attributes" {
			fields = append(fields, f)
		}
	}
	if len(table) != len(fields) {
		t.Fatalf("settings has %d entries, Config has %d fields with a setting", len(table), len(fields))
	}
	for i, s := range table {
		f := fields[i]
		if got := f.Tag.Get("yaml"); got != s.key {
			t.Errorf("settings[%d].key = %q, field %s has yaml tag %q", i, s.key, f.Name, got)
		}
		if want := "GATEHOUSE_" + strings.ToUpper(s.key); s.env != want {
			t.Errorf("settings[%d].env = %q, want %q", i, s.env, want)
		}
	}
}

func TestLoadPrecedence(t *testing.T) {
	path := writeFile(t, "gatehouse.yaml", `
issuer: https://file.example.com
access_token_lifetime: 15m
log_level: debug
auto_migrate: false
max_request_bytes: 2048
`)
	c, err := Load(path, env(map[string]string{
		"GATEHOUSE_ISSUER":           "https://env.example.com",
		"GATEHOUSE_LOG_LEVEL":        "warn",
		"GATEHOUSE_CLIENT_CACHE_TTL": "0",
		"UNRELATED":                  "ignored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Issuer = "https://env.example.com"     // env beats file
	want.LogLevel = "warn"                      // env beats file
	want.AccessTokenLifetime = 15 * time.Minute // file beats default
	want.AutoMigrate = false                    // file beats default
	want.MaxRequestBytes = 2048                 // file beats default
	want.ClientCacheTTL = 0                     // env beats default
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadEnvironmentSetsEveryType(t *testing.T) {
	c, err := Load("", env(map[string]string{
		"GATEHOUSE_ISSUER":                        "https://id.example.com",
		"GATEHOUSE_HTTP_ADDR":                     "127.0.0.1:9000",
		"GATEHOUSE_DATABASE_URL":                  "postgres://gh@db:5432/gatehouse",
		"GATEHOUSE_SECRET":                        strings.Repeat("s", 40),
		"GATEHOUSE_AUTO_MIGRATE":                  "false",
		"GATEHOUSE_ACCESS_TOKEN_LIFETIME":         "10m",
		"GATEHOUSE_REFRESH_TOKEN_LIFETIME":        "24h",
		"GATEHOUSE_AUTHORIZATION_CODE_LIFETIME":   "30s",
		"GATEHOUSE_ID_TOKEN_LIFETIME":             "2h",
		"GATEHOUSE_KEYS_REFRESH_INTERVAL":         "1m",
		"GATEHOUSE_CLIENT_CACHE_TTL":              "1s",
		"GATEHOUSE_LOG_LEVEL":                     "error",
		"GATEHOUSE_SHUTDOWN_TIMEOUT":              "5s",
		"GATEHOUSE_MAX_REQUEST_BYTES":             "1048576",
		"GATEHOUSE_SESSION_IDLE_TIMEOUT":          "2h",
		"GATEHOUSE_SESSION_LIFETIME":              "48h",
		"GATEHOUSE_ARGON2_MEMORY_KIB":             "65536",
		"GATEHOUSE_ARGON2_ITERATIONS":             "3",
		"GATEHOUSE_ARGON2_PARALLELISM":            "2",
		"GATEHOUSE_PKCE_ALLOW_PLAIN":              "true",
		"GATEHOUSE_REGISTRATION_POLICY":           "open",
		"GATEHOUSE_RESERVED_SCOPES":               "billing:admin,payments",
		"GATEHOUSE_OUTBOUND_ALLOW_CIDRS":          "10.20.0.0/16 192.168.1.7",
		"GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS":       "true",
		"GATEHOUSE_TRUSTED_PROXIES":               "172.16.0.0/12",
		"GATEHOUSE_METRICS_ADDR":                  "127.0.0.1:9100",
		"GATEHOUSE_PASSWORD_MIN_LENGTH":           "12",
		"GATEHOUSE_THROTTLE_ENABLED":              "false",
		"GATEHOUSE_THROTTLE_ACCOUNT_FAILURES":     "11",
		"GATEHOUSE_THROTTLE_ACCOUNT_IP_FAILURES":  "6",
		"GATEHOUSE_THROTTLE_IP_FAILURES":          "101",
		"GATEHOUSE_THROTTLE_DEVICE_FAILURES":      "12",
		"GATEHOUSE_THROTTLE_CLIENT_FAILURES":      "21",
		"GATEHOUSE_THROTTLE_REGISTRATIONS_PER_IP": "22",
		"GATEHOUSE_THROTTLE_BACKOFF_BASE":         "2s",
		"GATEHOUSE_THROTTLE_BACKOFF_MAX":          "1h",
		"GATEHOUSE_THROTTLE_MEMORY_COUNTERS":      "5000",
		"GATEHOUSE_SQLITE_WAL_MAX_BYTES":          "8388608",
		"GATEHOUSE_TRUSTED_PROXY_HEADER":          "Forwarded",
		"GATEHOUSE_SHUTDOWN_DRAIN_DELAY":          "0s",
		"GATEHOUSE_EVENT_RETENTION":               "720h",
		"GATEHOUSE_WEBHOOK_RETRY_HORIZON":         "12h",
		"GATEHOUSE_SMTP_HOST":                     "smtp.example.com",
		"GATEHOUSE_SMTP_PORT":                     "465",
		"GATEHOUSE_SMTP_TLS":                      "tls",
		"GATEHOUSE_SMTP_USERNAME":                 "gatehouse",
		"GATEHOUSE_SMTP_PASSWORD":                 "smtp-secret",
		"GATEHOUSE_SMTP_FROM":                     "Example <no-reply@example.com>",
		"GATEHOUSE_MAIL_OUTBOX_DIR":               "/var/tmp/outbox",
		"GATEHOUSE_MAIL_HOURLY_LIMIT":             "9",
		"GATEHOUSE_MFA_POLICY":                    "required",
		"GATEHOUSE_REAUTH_MAX_AGE":                "10m",
		"GATEHOUSE_THROTTLE_MFA_FAILURES":         "7",
		"GATEHOUSE_SIGNUP_ENABLED":                "false",
		"GATEHOUSE_SIGNUP_REQUIRED_FIELDS":        "name",
		"GATEHOUSE_TERMS_URL":                     "https://example.com/terms",
		"GATEHOUSE_FEDERATION_SIGNUP":             "false",
		"GATEHOUSE_UNVERIFIED_SIGN_IN":            "false",
		"GATEHOUSE_EMAIL_VERIFICATION_LIFETIME":   "48h",
		"GATEHOUSE_PASSWORD_RESET_LIFETIME":       "20m",
		"GATEHOUSE_EMAIL_CODE_SIGN_IN":            "true",
		"GATEHOUSE_EMAIL_CODE_LIFETIME":           "5m",
		"GATEHOUSE_NEW_DEVICE_ALERT":              "true",
		"GATEHOUSE_THROTTLE_SIGNUPS_PER_IP":       "30",
		"GATEHOUSE_THROTTLE_MAIL_REQUESTS_PER_IP": "31",
		"GATEHOUSE_THROTTLE_EMAIL_CODE_FAILURES":  "4",
		"GATEHOUSE_EMAIL_CHANGE_LINK_TTL":         "30m",
		"GATEHOUSE_TOKEN_CACHE_TTL":               "500ms",
		"GATEHOUSE_MFA_REMEMBER_DEVICE_DAYS":      "14",
		"GATEHOUSE_THROTTLE_PASSKEY_BEGINS":       "40",
		"GATEHOUSE_GEOIP_DATABASE":                "config_test.go",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Issuer:                     "https://id.example.com",
		HTTPAddr:                   "127.0.0.1:9000",
		DatabaseURL:                "postgres://gh@db:5432/gatehouse",
		Secret:                     strings.Repeat("s", 40),
		AutoMigrate:                false,
		AccessTokenLifetime:        10 * time.Minute,
		RefreshTokenLifetime:       24 * time.Hour,
		AuthorizationCodeLifetime:  30 * time.Second,
		IDTokenLifetime:            2 * time.Hour,
		KeysRefreshInterval:        time.Minute,
		ClientCacheTTL:             time.Second,
		LogLevel:                   "error",
		ShutdownTimeout:            5 * time.Second,
		MaxRequestBytes:            1 << 20,
		SessionIdleTimeout:         2 * time.Hour,
		SessionLifetime:            48 * time.Hour,
		Argon2MemoryKiB:            65536,
		Argon2Iterations:           3,
		Argon2Parallelism:          2,
		PKCEAllowPlain:             true,
		RegistrationPolicy:         "open",
		ReservedScopes:             "billing:admin,payments",
		OutboundAllowCIDRs:         "10.20.0.0/16 192.168.1.7",
		DevAllowLoopbackURLs:       true,
		TrustedProxies:             "172.16.0.0/12",
		MetricsAddr:                "127.0.0.1:9100",
		PasswordMinLength:          12,
		ThrottleEnabled:            false,
		ThrottleAccountFailures:    11,
		ThrottleAccountIPFailures:  6,
		ThrottleIPFailures:         101,
		ThrottleDeviceFailures:     12,
		ThrottleClientFailures:     21,
		ThrottleRegistrationsPerIP: 22,
		ThrottleBackoffBase:        2 * time.Second,
		ThrottleBackoffMax:         time.Hour,
		ThrottleMemoryCounters:     5000,
		TrustedProxyHeader:         "Forwarded",
		ShutdownDrainDelay:         0,
		EventRetention:             720 * time.Hour,
		WebhookRetryHorizon:        12 * time.Hour,
		SQLiteWALMaxBytes:          8 << 20,
		SMTPHost:                   "smtp.example.com",
		SMTPPort:                   465,
		SMTPTLS:                    "tls",
		SMTPUsername:               "gatehouse",
		SMTPPassword:               "smtp-secret",
		SMTPFrom:                   "Example <no-reply@example.com>",
		MailOutboxDir:              "/var/tmp/outbox",
		MailHourlyLimit:            9,
		MFAPolicy:                  "required",
		ReauthMaxAge:               10 * time.Minute,
		ThrottleMFAFailures:        7,
		SignUpEnabled:              false,
		SignUpRequiredFields:       "name",
		TermsURL:                   "https://example.com/terms",
		FederationSignUp:           false,
		UnverifiedSignIn:           false,
		EmailVerificationLifetime:  48 * time.Hour,
		PasswordResetLifetime:      20 * time.Minute,
		EmailCodeSignIn:            true,
		EmailCodeLifetime:          5 * time.Minute,
		NewDeviceAlert:             true,
		ThrottleSignUpsPerIP:       30,
		ThrottleMailRequestsPerIP:  31,
		ThrottleEmailCodeFailures:  4,
		EmailChangeLinkTTL:         30 * time.Minute,
		Passkeys:                   true,
		TokenCacheTTL:              500 * time.Millisecond,
		MFARememberDeviceDays:      14,
		ThrottlePasskeyBegins:      40,
		GeoIPDatabase:              "config_test.go",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLoadEmptyEnvironmentValueCountsAsSet(t *testing.T) {
	c, err := Load("", env(map[string]string{"GATEHOUSE_DATABASE_URL": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "" {
		t.Fatalf("DatabaseURL = %q, want empty", c.DatabaseURL)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_DATABASE_URL: required") {
		t.Errorf("Validate = %v, want GATEHOUSE_DATABASE_URL: required", err)
	}
}

func TestLoadMalformedEnvironmentIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, variable, value string
	}{
		{"duration without unit", "GATEHOUSE_ACCESS_TOKEN_LIFETIME", "60"},
		{"duration in words", "GATEHOUSE_SHUTDOWN_TIMEOUT", "thirty seconds"},
		{"empty duration", "GATEHOUSE_KEYS_REFRESH_INTERVAL", ""},
		{"bool as yes", "GATEHOUSE_AUTO_MIGRATE", "yes"},
		{"integer with unit", "GATEHOUSE_MAX_REQUEST_BYTES", "64KiB"},
		{"integer as float", "GATEHOUSE_MAX_REQUEST_BYTES", "1e6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("", env(map[string]string{tc.variable: tc.value}))
			if err == nil {
				t.Fatalf("Load accepted %s=%q", tc.variable, tc.value)
			}
			if !strings.HasPrefix(err.Error(), tc.variable+": ") || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.value)) {
				t.Errorf("error %q does not start with the variable and quote the value", err)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Run("durations are read from strings", func(t *testing.T) {
		c, err := Load(writeFile(t, "c.yaml", "refresh_token_lifetime: 2h30m\nclient_cache_ttl: \"1500ms\"\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.RefreshTokenLifetime != 150*time.Minute || c.ClientCacheTTL != 1500*time.Millisecond {
			t.Errorf("got %v and %v", c.RefreshTokenLifetime, c.ClientCacheTTL)
		}
	})
	t.Run("a bare 0 is a zero duration", func(t *testing.T) {
		c, err := Load(writeFile(t, "c.yaml", "client_cache_ttl: 0\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientCacheTTL != 0 {
			t.Errorf("ClientCacheTTL = %v", c.ClientCacheTTL)
		}
	})
	t.Run("an empty file changes nothing", func(t *testing.T) {
		c, err := Load(writeFile(t, "c.yaml", "# nothing here\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Load = %+v", c)
		}
	})
	t.Run("an aliased value is followed", func(t *testing.T) {
		c, err := Load(writeFile(t, "c.yaml", "access_token_lifetime: &life 2h\nid_token_lifetime: *life\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.IDTokenLifetime != 2*time.Hour {
			t.Errorf("IDTokenLifetime = %v", c.IDTokenLifetime)
		}
	})
	t.Run("an empty value empties a string", func(t *testing.T) {
		c, err := Load(writeFile(t, "c.yaml", "issuer:\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Issuer != "" {
			t.Errorf("Issuer = %q", c.Issuer)
		}
	})
}

func TestLoadFileRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{"unknown key is refused", "issuer: https://id.example.com\nisuer: x\n", []string{"line 2", `unknown setting "isuer"`}},
		{"repeated key is refused", "log_level: info\nlog_level: debug\n", []string{"line 2", "log_level", "already set on line 1"}},
		{"duration without unit is refused", "\naccess_token_lifetime: 60\n", []string{"line 2", "access_token_lifetime", `"60"`}},
		{"malformed bool is refused", "auto_migrate: sometimes\n", []string{"line 1", "auto_migrate", "true or false"}},
		{"malformed integer is refused", "max_request_bytes: lots\n", []string{"max_request_bytes", "whole number"}},
		{"list value is refused", "issuer: [a, b]\n", []string{"issuer", "a list"}},
		{"mapping value is refused", "issuer:\n  url: x\n", []string{"issuer", "a mapping"}},
		{"top-level list is refused", "- issuer\n", []string{"mapping of settings"}},
		{"two documents are refused", "log_level: info\n---\nlog_level: debug\n", []string{"single YAML document"}},
		{"invalid YAML is refused", "issuer: [unclosed\n", []string{"c.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tc.content)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	t.Run("missing file is refused", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load = %v, want an error matching fs.ErrNotExist", err)
		}
	})
}

func TestValidateRules(t *testing.T) {
	longSecret := strings.Repeat("k", 32)
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // the single problem expected, or a prefix of it
	}{
		{"empty issuer is refused", func(c *Config) { c.Issuer = "" }, "GATEHOUSE_ISSUER: required"},
		{"relative issuer is refused", func(c *Config) { c.Issuer = "id.example.com" }, "GATEHOUSE_ISSUER: must be an absolute URL"},
		{"issuer without host is refused", func(c *Config) { c.Issuer = "https:///path" }, "GATEHOUSE_ISSUER: must be an absolute URL"},
		{"unparsable issuer is refused", func(c *Config) { c.Issuer = "https://exa mple.com" }, "GATEHOUSE_ISSUER: must be an absolute URL"},
		{"issuer with another scheme is refused", func(c *Config) { c.Issuer = "ftp://id.example.com" }, "GATEHOUSE_ISSUER: must use https (got ftp://id.example.com)"},
		{"http issuer on a public host is refused", func(c *Config) { c.Issuer = "http://example.com" }, "GATEHOUSE_ISSUER: must use https unless the host is localhost, 127.0.0.1 or [::1] (got http://example.com)"},
		{"http issuer on a private address is refused", func(c *Config) { c.Issuer = "http://10.0.0.1:8080" }, "GATEHOUSE_ISSUER: must use https unless"},
		{"issuer with a query is refused", func(c *Config) { c.Issuer = "https://id.example.com?a=b" }, "GATEHOUSE_ISSUER: must not have a query or a fragment"},
		{"issuer with an empty query is refused", func(c *Config) { c.Issuer = "https://id.example.com?" }, "GATEHOUSE_ISSUER: must not have a query or a fragment"},
		{"issuer with a fragment is refused", func(c *Config) { c.Issuer = "https://id.example.com#x" }, "GATEHOUSE_ISSUER: must not have a query or a fragment"},
		{"issuer with a trailing slash is refused", func(c *Config) { c.Issuer = "https://id.example.com/" }, `GATEHOUSE_ISSUER: must not end with "/"`},
		{"issuer with a password is refused without showing it", func(c *Config) { c.Issuer = "https://u:hunter2@id.example.com" }, "GATEHOUSE_ISSUER: must not contain a user name or password"},

		{"http_addr without port is refused", func(c *Config) { c.HTTPAddr = "localhost" }, "GATEHOUSE_HTTP_ADDR: must be host:port"},
		{"http_addr with a named port is refused", func(c *Config) { c.HTTPAddr = ":http" }, "GATEHOUSE_HTTP_ADDR: must be host:port"},
		{"http_addr with a port over 65535 is refused", func(c *Config) { c.HTTPAddr = ":70000" }, "GATEHOUSE_HTTP_ADDR: must be host:port"},
		{"empty http_addr is refused", func(c *Config) { c.HTTPAddr = "" }, "GATEHOUSE_HTTP_ADDR: must be host:port"},

		{"a reserved scope with a quote is refused", func(c *Config) { c.ReservedScopes = `billing "x"` }, "GATEHOUSE_RESERVED_SCOPES:"},
		{"an outbound range that is not one is refused", func(c *Config) { c.OutboundAllowCIDRs = "10.0.0.0/8 intranet" }, `GATEHOUSE_OUTBOUND_ALLOW_CIDRS: "intranet" is neither`},
		{"a trusted proxy that is not an address is refused", func(c *Config) { c.TrustedProxies = "10.0.0.300" }, `GATEHOUSE_TRUSTED_PROXIES: "10.0.0.300" is neither`},
		{"metrics_addr without a port is refused", func(c *Config) { c.MetricsAddr = "localhost" }, "GATEHOUSE_METRICS_ADDR: must be host:port"},
		{"metrics_addr on the HTTP port is refused", func(c *Config) { c.MetricsAddr = "127.0.0.1:8080" }, "GATEHOUSE_METRICS_ADDR: must not use the port of GATEHOUSE_HTTP_ADDR"},
		{"a password minimum below 8 is refused", func(c *Config) { c.PasswordMinLength = 6 }, "GATEHOUSE_PASSWORD_MIN_LENGTH: must be between 8 and 64"},

		{"empty database_url is refused", func(c *Config) { c.DatabaseURL = "" }, "GATEHOUSE_DATABASE_URL: required"},
		{"database_url of another scheme is refused", func(c *Config) { c.DatabaseURL = "mysql://db/gh" }, `GATEHOUSE_DATABASE_URL: scheme must be sqlite, postgres or postgresql (got "mysql")`},
		{"database_url that is not a URL is refused", func(c *Config) { c.DatabaseURL = "host=db password=x" }, "GATEHOUSE_DATABASE_URL: must be a URL"},
		{"in-memory sqlite is refused", func(c *Config) { c.DatabaseURL = "sqlite://:memory:" }, "GATEHOUSE_DATABASE_URL: an in-memory SQLite database is not supported"},
		{"sqlite without path is refused", func(c *Config) { c.DatabaseURL = "sqlite://" }, "GATEHOUSE_DATABASE_URL: a sqlite URL needs a file path"},
		{"sqlite with a query is refused", func(c *Config) { c.DatabaseURL = "sqlite://g.db?cache=shared" }, "GATEHOUSE_DATABASE_URL: a sqlite URL must not have a query"},
		{"unparsable postgres URL is refused", func(c *Config) { c.DatabaseURL = "postgres://u:p@db:port/gh"; c.Secret = longSecret }, "GATEHOUSE_DATABASE_URL: not a valid PostgreSQL URL"},

		{"short secret is refused", func(c *Config) { c.Secret = strings.Repeat("k", 31) }, "GATEHOUSE_SECRET: must be at least 32 bytes (got 31)"},
		{"empty secret on postgres is refused", func(c *Config) { c.DatabaseURL = "postgres://gh@db/gh" }, "GATEHOUSE_SECRET: required on PostgreSQL"},

		{"access token lifetime under 1m is refused", func(c *Config) { c.AccessTokenLifetime = 59 * time.Second }, "GATEHOUSE_ACCESS_TOKEN_LIFETIME: must be between 1m and 24h (got 59s)"},
		{"access token lifetime over 24h is refused", func(c *Config) { c.AccessTokenLifetime = 25 * time.Hour }, "GATEHOUSE_ACCESS_TOKEN_LIFETIME: must be between 1m and 24h (got 25h)"},
		{"refresh token lifetime under 1h is refused", func(c *Config) { c.RefreshTokenLifetime = 59 * time.Minute }, "GATEHOUSE_REFRESH_TOKEN_LIFETIME: must be at least 1h (got 59m)"},
		{"authorization code lifetime under 10s is refused", func(c *Config) { c.AuthorizationCodeLifetime = 9 * time.Second }, "GATEHOUSE_AUTHORIZATION_CODE_LIFETIME: must be between 10s and 10m (got 9s)"},
		{"authorization code lifetime over 10m is refused", func(c *Config) { c.AuthorizationCodeLifetime = 11 * time.Minute }, "GATEHOUSE_AUTHORIZATION_CODE_LIFETIME: must be between 10s and 10m"},
		{"id token lifetime under 1m is refused", func(c *Config) { c.IDTokenLifetime = 30 * time.Second }, "GATEHOUSE_ID_TOKEN_LIFETIME: must be between 1m and 24h"},
		{"id token lifetime over 24h is refused", func(c *Config) { c.IDTokenLifetime = 48 * time.Hour }, "GATEHOUSE_ID_TOKEN_LIFETIME: must be between 1m and 24h"},
		{"keys refresh interval under 1s is refused", func(c *Config) { c.KeysRefreshInterval = 500 * time.Millisecond }, "GATEHOUSE_KEYS_REFRESH_INTERVAL: must be between 1s and 10m (got 500ms)"},
		{"keys refresh interval over 10m is refused", func(c *Config) { c.KeysRefreshInterval = time.Hour }, "GATEHOUSE_KEYS_REFRESH_INTERVAL: must be between 1s and 10m (got 1h)"},
		{"negative client cache ttl is refused", func(c *Config) { c.ClientCacheTTL = -time.Second }, "GATEHOUSE_CLIENT_CACHE_TTL: must be between 0s and 5m (got -1s)"},
		{"client cache ttl over 5m is refused", func(c *Config) { c.ClientCacheTTL = 6 * time.Minute }, "GATEHOUSE_CLIENT_CACHE_TTL: must be between 0s and 5m"},
		{"shutdown drain delay over 5m is refused", func(c *Config) { c.ShutdownDrainDelay = 6 * time.Minute }, "GATEHOUSE_SHUTDOWN_DRAIN_DELAY: must be between 0s and 5m"},
		{"webhook retry horizon over 30 days is refused", func(c *Config) { c.WebhookRetryHorizon = 31 * 24 * time.Hour }, "GATEHOUSE_WEBHOOK_RETRY_HORIZON: must be between 1s and 720h"},
		{"negative shutdown drain delay is refused", func(c *Config) { c.ShutdownDrainDelay = -time.Second }, "GATEHOUSE_SHUTDOWN_DRAIN_DELAY: must be between 0s and 5m"},
		{"an event retention under an hour is refused", func(c *Config) { c.EventRetention = time.Minute }, "GATEHOUSE_EVENT_RETENTION: must be between"},
		{"a negative event retention is refused", func(c *Config) { c.EventRetention = -time.Hour }, "GATEHOUSE_EVENT_RETENTION: must be between"},
		{"an unknown MFA policy is refused", func(c *Config) { c.MFAPolicy = "sometimes" }, "GATEHOUSE_MFA_POLICY: must be optional or required"},
		{"a reauthentication age over an hour is refused", func(c *Config) { c.ReauthMaxAge = 2 * time.Hour }, "GATEHOUSE_REAUTH_MAX_AGE: must be between"},
		{"no free wrong second-factor codes is refused", func(c *Config) { c.ThrottleMFAFailures = 0 }, "GATEHOUSE_THROTTLE_MFA_FAILURES: must be between"},
		{"zero shutdown timeout is refused", func(c *Config) { c.ShutdownTimeout = 0 }, "GATEHOUSE_SHUTDOWN_TIMEOUT: must be between 1s and 10m (got 0s)"},
		{"shutdown timeout over 10m is refused", func(c *Config) { c.ShutdownTimeout = 11 * time.Minute }, "GATEHOUSE_SHUTDOWN_TIMEOUT: must be between 1s and 10m"},

		{"unknown log level is refused", func(c *Config) { c.LogLevel = "verbose" }, `GATEHOUSE_LOG_LEVEL: must be one of debug, info, warn, error (got "verbose")`},
		{"upper-case log level is refused", func(c *Config) { c.LogLevel = "INFO" }, "GATEHOUSE_LOG_LEVEL: must be one of"},

		{"max request bytes under 1024 is refused", func(c *Config) { c.MaxRequestBytes = 1023 }, "GATEHOUSE_MAX_REQUEST_BYTES: must be between 1024 and 10485760 (got 1023)"},
		{"max request bytes over 10MiB is refused", func(c *Config) { c.MaxRequestBytes = 10<<20 + 1 }, "GATEHOUSE_MAX_REQUEST_BYTES: must be between 1024 and 10485760"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			got := problems(t, c.Validate())
			if len(got) != 1 {
				t.Fatalf("Validate problems = %q, want exactly one starting %q", got, tc.want)
			}
			if !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("Validate problem = %q, want it to start %q", got[0], tc.want)
			}
			if strings.Contains(got[0], "hunter2") || strings.Contains(got[0], ":p@") {
				t.Errorf("Validate problem %q shows a password", got[0])
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	secret := strings.Repeat("k", 32)
	for _, tc := range []struct {
		name   string
		change func(*Config)
	}{
		{"http issuer on 127.0.0.1", func(c *Config) { c.Issuer = "http://127.0.0.1:8080" }},
		{"http issuer on [::1]", func(c *Config) { c.Issuer = "http://[::1]:8080" }},
		{"http issuer on localhost without port", func(c *Config) { c.Issuer = "http://localhost" }},
		{"https issuer with a path", func(c *Config) { c.Issuer = "https://example.com/auth" }},
		{"http_addr with host and port 0", func(c *Config) { c.HTTPAddr = "127.0.0.1:0" }},
		{"http_addr on IPv6", func(c *Config) { c.HTTPAddr = "[::]:443" }},
		{"absolute sqlite path", func(c *Config) { c.DatabaseURL = "sqlite:///var/lib/gatehouse/g.db" }},
		{"postgres with secret", func(c *Config) { c.DatabaseURL = "postgres://gh@db:5432/gh?sslmode=disable"; c.Secret = secret }},
		{"postgresql scheme with secret", func(c *Config) { c.DatabaseURL = "postgresql://gh:pw@db/gh"; c.Secret = secret }},
		{"secret of exactly 32 bytes", func(c *Config) { c.Secret = secret }},
		{"client cache disabled", func(c *Config) { c.ClientCacheTTL = 0 }},
		{"limits at their bounds", func(c *Config) {
			c.AccessTokenLifetime = 24 * time.Hour
			c.RefreshTokenLifetime = time.Hour
			c.AuthorizationCodeLifetime = 10 * time.Second
			c.IDTokenLifetime = time.Minute
			c.KeysRefreshInterval = 10 * time.Minute
			c.ClientCacheTTL = 5 * time.Minute
			c.MaxRequestBytes = 10 << 20
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate = %v", err)
			}
		})
	}
	for _, level := range []string{"debug", "info", "warn", "error"} {
		c := Default()
		c.LogLevel = level
		if err := c.Validate(); err != nil {
			t.Errorf("log level %q: %v", level, err)
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Default()
	c.Issuer = "http://example.com/"
	c.HTTPAddr = "8080"
	c.LogLevel = "loud"
	c.MaxRequestBytes = 0
	err := c.Validate()
	got := problems(t, err)
	if len(got) != 5 {
		t.Fatalf("problems = %q, want 5", got)
	}
	if err.Error() != strings.Join(got, "; ") {
		t.Errorf("Error() = %q, want the problems joined by \"; \"", err.Error())
	}
}

func TestDatabase(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Database
	}{
		{"sqlite://gatehouse.db", Database{Kind: DatabaseSQLite, Path: "gatehouse.db"}},
		{"sqlite://data/gatehouse.db", Database{Kind: DatabaseSQLite, Path: "data/gatehouse.db"}},
		{"sqlite:///abs/path.db", Database{Kind: DatabaseSQLite, Path: "/abs/path.db"}},
		{"SQLite://g.db", Database{Kind: DatabaseSQLite, Path: "g.db"}},
		{"postgres://user@host:5432/db?sslmode=disable", Database{Kind: DatabasePostgres, DSN: "postgres://user@host:5432/db?sslmode=disable"}},
		{"postgresql://user:pw@host/db", Database{Kind: DatabasePostgres, DSN: "postgresql://user:pw@host/db"}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c := Default()
			c.DatabaseURL = tc.url
			got, err := c.Database()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Database = %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "gatehouse.db", "sqlite://:memory:", "sqlite://file::memory:?cache=shared", "sqlite://file:g.db", "mysql://h/db"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			c := Default()
			c.DatabaseURL = bad
			if _, err := c.Database(); err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_DATABASE_URL: ") {
				t.Errorf("Database = %v, want an error naming GATEHOUSE_DATABASE_URL", err)
			}
		})
	}
}

// sqliteConfig returns a default Config whose database is in dir.
func sqliteConfig(dir string) Config {
	c := Default()
	c.DatabaseURL = "sqlite://" + filepath.Join(dir, "gatehouse.db")
	return c
}

func TestSecretFilePath(t *testing.T) {
	c := Default()
	if p, err := c.SecretFilePath(); err != nil || p != "gatehouse.db.secret" {
		t.Errorf("SecretFilePath = %q, %v; want gatehouse.db.secret", p, err)
	}
	c.DatabaseURL = "postgres://db/gh"
	if _, err := c.SecretFilePath(); err == nil {
		t.Error("SecretFilePath on PostgreSQL succeeded")
	}
}

func TestEnsureSecret(t *testing.T) {
	t.Run("creates a 0600 file once and reads it back", func(t *testing.T) {
		dir := t.TempDir()
		first := sqliteConfig(dir)
		created, err := first.EnsureSecret()
		if err != nil || !created {
			t.Fatalf("first EnsureSecret = %v, %v; want created", created, err)
		}
		if len(first.Secret) < 32 {
			t.Fatalf("generated secret has %d bytes", len(first.Secret))
		}
		if err := first.Validate(); err != nil {
			t.Errorf("Validate after EnsureSecret: %v", err)
		}
		path := filepath.Join(dir, "gatehouse.db.secret")
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("secret file mode = %#o, want 0600", perm)
		}

		second := sqliteConfig(dir)
		created, err = second.EnsureSecret()
		if err != nil || created {
			t.Fatalf("second EnsureSecret = %v, %v; want read, not created", created, err)
		}
		if second.Secret != first.Secret {
			t.Errorf("second secret %q differs from first %q", second.Secret, first.Secret)
		}
	})

	t.Run("a set secret is kept and no file is written", func(t *testing.T) {
		dir := t.TempDir()
		c := sqliteConfig(dir)
		c.Secret = strings.Repeat("x", 40)
		created, err := c.EnsureSecret()
		if err != nil || created || c.Secret != strings.Repeat("x", 40) {
			t.Fatalf("EnsureSecret = %v, %v, secret %q", created, err, c.Secret)
		}
		if _, err := os.Stat(filepath.Join(dir, "gatehouse.db.secret")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("secret file was written: %v", err)
		}
	})

	t.Run("an existing file is trimmed", func(t *testing.T) {
		dir := t.TempDir()
		want := strings.Repeat("z", 40)
		if err := os.WriteFile(filepath.Join(dir, "gatehouse.db.secret"), []byte("  "+want+"\n\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := sqliteConfig(dir)
		if created, err := c.EnsureSecret(); err != nil || created || c.Secret != want {
			t.Fatalf("EnsureSecret = %v, %v, secret %q", created, err, c.Secret)
		}
	})

	t.Run("a file readable by others is refused", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "gatehouse.db.secret")
		if err := os.WriteFile(path, []byte(strings.Repeat("z", 40)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		c := sqliteConfig(dir)
		_, err := c.EnsureSecret()
		if err == nil || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), path) {
			t.Fatalf("EnsureSecret = %v, want an error about mode 0644 naming the file", err)
		}
		if c.Secret != "" {
			t.Errorf("Secret was set to %q", c.Secret)
		}
	})

	t.Run("a stricter 0400 file is accepted", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "gatehouse.db.secret")
		if err := os.WriteFile(path, []byte(strings.Repeat("z", 40)), 0o400); err != nil {
			t.Fatal(err)
		}
		c := sqliteConfig(dir)
		if _, err := c.EnsureSecret(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("concurrent callers agree on one secret", func(t *testing.T) {
		dir := t.TempDir()
		const n = 16
		var (
			wg      sync.WaitGroup
			secrets [n]string
			created [n]bool
			errs    [n]error
		)
		for i := range n {
			wg.Go(func() {
				c := sqliteConfig(dir)
				created[i], errs[i] = c.EnsureSecret()
				secrets[i] = c.Secret
			})
		}
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if created[i] {
				creators++
			}
			if secrets[i] != secrets[0] {
				t.Errorf("caller %d got a different secret", i)
			}
		}
		if creators != 1 {
			t.Errorf("%d callers created the secret, want 1", creators)
		}
	})

	t.Run("postgres without secret is an error naming GATEHOUSE_SECRET", func(t *testing.T) {
		c := Default()
		c.DatabaseURL = "postgres://gh@db:5432/gh"
		created, err := c.EnsureSecret()
		if err == nil || created || !strings.Contains(err.Error(), "GATEHOUSE_SECRET") {
			t.Fatalf("EnsureSecret = %v, %v; want an error naming GATEHOUSE_SECRET", created, err)
		}
	})

	t.Run("postgres with secret is left alone", func(t *testing.T) {
		c := Default()
		c.DatabaseURL = "postgres://gh@db:5432/gh"
		c.Secret = strings.Repeat("p", 32)
		if created, err := c.EnsureSecret(); err != nil || created {
			t.Fatalf("EnsureSecret = %v, %v", created, err)
		}
	})
}

func TestReadSecretFileRefusesEmptyAndShortFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.secret")
	short := filepath.Join(dir, "short.secret")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(short, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readSecretFile(empty, 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := readSecretFile(short, 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "at least 32 bytes (got 9)") {
		t.Errorf("short file: %v", err)
	}
}

// TestExampleFile keeps gatehouse.example.yaml true: it loads, validates,
// lists every setting and shows the defaults.
func TestExampleFile(t *testing.T) {
	c, err := Load("gatehouse.example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("example file gives\n%+v\nwant the defaults\n%+v", c, Default())
	}
	b, err := os.ReadFile("gatehouse.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings(&c) {
		if !strings.Contains(string(b), "\n"+s.key+":") {
			t.Errorf("example file does not set %s", s.key)
		}
		if !strings.Contains(string(b), s.env) {
			t.Errorf("example file does not mention %s", s.env)
		}
	}
}

// TestReferenceDocument keeps docs/configuration.md listing every setting.
func TestReferenceDocument(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	for _, s := range settings(&c) {
		if !strings.Contains(string(b), "`"+s.key+"`") || !strings.Contains(string(b), "`"+s.env+"`") {
			t.Errorf("docs/configuration.md does not document %s (%s)", s.key, s.env)
		}
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	c := Default()
	c.Secret = "very-secret-value-that-must-not-leak"
	c.DatabaseURL = "postgres://gh:hunter2@db/gh?password=hunter3"
	c.SMTPPassword = "smtp-hunter4"
	s := c.LogValue().String()
	if !strings.Contains(s, "smtp_password_set=true") {
		t.Errorf("LogValue %q does not say the SMTP password is set", s)
	}
	for _, leak := range []string{c.Secret, "hunter2", "hunter3", "hunter4"} {
		if strings.Contains(s, leak) {
			t.Errorf("LogValue %q shows %q", s, leak)
		}
	}
}

func TestThrottleSettingsAreChecked(t *testing.T) {
	checkRefusals(t, map[string]refusal{
		"a zero budget":       {func(c *Config) { c.ThrottleAccountIPFailures = 0 }, "GATEHOUSE_THROTTLE_ACCOUNT_IP_FAILURES: must be between 1 and 1000000 (got 0)"},
		"a base over the cap": {func(c *Config) { c.ThrottleBackoffBase = time.Hour; c.ThrottleBackoffMax = time.Minute }, "GATEHOUSE_THROTTLE_BACKOFF_BASE: must not exceed GATEHOUSE_THROTTLE_BACKOFF_MAX (1h > 1m)"},
		"a cap over a day":    {func(c *Config) { c.ThrottleBackoffMax = 48 * time.Hour }, "GATEHOUSE_THROTTLE_BACKOFF_MAX: must be between 10ms and 24h (got 48h)"},
		"too few counters":    {func(c *Config) { c.ThrottleMemoryCounters = 10 }, "GATEHOUSE_THROTTLE_MEMORY_COUNTERS: must be between 1000 and 10000000 (got 10)"},
		"tiny WAL bound":      {func(c *Config) { c.SQLiteWALMaxBytes = 4096 }, "GATEHOUSE_SQLITE_WAL_MAX_BYTES: must be between 1048576 and 1099511627776 (got 4096)"},
		"an unknown header":   {func(c *Config) { c.TrustedProxyHeader = "X-Real-IP" }, `GATEHOUSE_TRUSTED_PROXY_HEADER: must be X-Forwarded-For or Forwarded (got "X-Real-IP")`},
	})
}

func TestMailSettingsAreChecked(t *testing.T) {
	checkRefusals(t, map[string]refusal{
		"an unknown TLS mode":              {func(c *Config) { c.SMTPTLS = "ssl" }, `GATEHOUSE_SMTP_TLS: must be none, starttls or tls (got "ssl")`},
		"a port out of range":              {func(c *Config) { c.SMTPPort = 70000 }, "GATEHOUSE_SMTP_PORT: must be between 1 and 65535 (got 70000)"},
		"a host with its port":             {func(c *Config) { c.SMTPHost = "smtp.example.com:587" }, "GATEHOUSE_SMTP_HOST: must be a host name or address, without a port or scheme"},
		"a password without a user":        {func(c *Config) { c.SMTPPassword = "p" }, "GATEHOUSE_SMTP_PASSWORD: set GATEHOUSE_SMTP_USERNAME too"},
		"a sender that is no address":      {func(c *Config) { c.SMTPFrom = "Gatehouse" }, "GATEHOUSE_SMTP_FROM: must be an email address"},
		"a localhost sender for real mail": {func(c *Config) { c.SMTPHost = "smtp.example.com" }, "GATEHOUSE_SMTP_FROM: set a sender address of your own domain"},
		"no mail at all":                   {func(c *Config) { c.MailHourlyLimit = 0 }, "GATEHOUSE_MAIL_HOURLY_LIMIT: must be between 1 and 10000 (got 0)"},
	})
	c := Default()
	c.SMTPHost, c.SMTPFrom, c.SMTPUsername, c.SMTPPassword = "smtp.example.com", "Example <no-reply@example.com>", "u", "p"
	if err := c.Validate(); err != nil {
		t.Errorf("a whole SMTP setting: %v", err)
	}
}

func TestMailOutboxPath(t *testing.T) {
	for _, tc := range []struct{ db, dir, want string }{
		{"sqlite://gatehouse.db", "", "outbox"},
		{"sqlite:///var/lib/gatehouse/gatehouse.db", "", "/var/lib/gatehouse/outbox"},
		{"sqlite://data/gatehouse.db", "", filepath.Join("data", "outbox")},
		{"postgres://gh@db/gh", "", "outbox"},
		{"sqlite://gatehouse.db", "/tmp/mails", "/tmp/mails"},
	} {
		c := Default()
		c.DatabaseURL, c.MailOutboxDir = tc.db, tc.dir
		if got := c.MailOutboxPath(); got != tc.want {
			t.Errorf("%s %q: MailOutboxPath = %q, want %q", tc.db, tc.dir, got, tc.want)
		}
	}
}

func TestBrandingSettingsAreChecked(t *testing.T) {
	checkRefusals(t, map[string]refusal{
		"a colour name":            {func(c *Config) { c.BrandingPrimaryColor = "green" }, `GATEHOUSE_BRANDING_PRIMARY_COLOR: must be a colour in the form #RRGGBB, such as #0b7a4b (got "green")`},
		"a short colour":           {func(c *Config) { c.BrandingPrimaryColor = "#0a0" }, "GATEHOUSE_BRANDING_PRIMARY_COLOR: must be a colour in the form #RRGGBB"},
		"a colour smuggling CSS":   {func(c *Config) { c.BrandingPrimaryColor = "#000000;}body{" }, "GATEHOUSE_BRANDING_PRIMARY_COLOR: must be a colour"},
		"an http logo":             {func(c *Config) { c.BrandingLogoURL = "http://cdn.example.com/logo.svg" }, "GATEHOUSE_BRANDING_LOGO_URL: must use https (http only with GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS)"},
		"a scheme-relative logo":   {func(c *Config) { c.BrandingLogoURL = "//cdn.example.com/logo.svg" }, "GATEHOUSE_BRANDING_LOGO_URL: must be an https URL or a path on this server"},
		"a data: favicon":          {func(c *Config) { c.BrandingFaviconURL = "data:image/svg+xml,<svg/>" }, "GATEHOUSE_BRANDING_FAVICON_URL: must be an absolute https URL"},
		"an http privacy policy":   {func(c *Config) { c.BrandingPrivacyURL = "http://example.com/privacy" }, "GATEHOUSE_BRANDING_PRIVACY_URL: must use https"},
		"a privacy policy by path": {func(c *Config) { c.BrandingPrivacyURL = "/privacy" }, "GATEHOUSE_BRANDING_PRIVACY_URL: must be an absolute https URL"},
		"a name with a newline":    {func(c *Config) { c.BrandingProductName = "Acme\nID" }, "GATEHOUSE_BRANDING_PRODUCT_NAME: must not contain control characters"},
		"a very long name":         {func(c *Config) { c.BrandingProductName = strings.Repeat("a", 81) }, "GATEHOUSE_BRANDING_PRODUCT_NAME: must be at most 80 characters (got 81)"},
	})
	c := Default()
	c.BrandingProductName, c.BrandingPrimaryColor = "Acme ID", "#0B7A4B"
	c.BrandingLogoURL, c.BrandingFaviconURL = "https://cdn.example.com/acme.svg", "/static/acme.ico"
	c.BrandingPrivacyURL, c.TemplatesDir, c.BrandingCustomCSSFile = "https://acme.example/privacy", "/etc/gatehouse/templates", "/etc/gatehouse/acme.css"
	if err := c.Validate(); err != nil {
		t.Errorf("a whole branding: %v", err)
	}
	c.DevAllowLoopbackURLs, c.BrandingLogoURL = true, "http://localhost:3000/logo.png"
	if err := c.Validate(); err != nil {
		t.Errorf("an http logo under the development switch: %v", err)
	}
}

// refusal is a change to the defaults and the problem Validate must report.
type refusal struct {
	change func(*Config)
	want   string
}

// checkRefusals checks that Validate reports each change's problem.
func checkRefusals(t *testing.T, cases map[string]refusal) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}
