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
}

// Default returns the configuration used when nothing overrides it. It is
// valid as it stands: with SQLite, an empty Secret is filled by EnsureSecret.
func Default() Config {
	return Config{
		Issuer:                    "http://localhost:8080",
		HTTPAddr:                  ":8080",
		DatabaseURL:               "sqlite://gatehouse.db",
		Secret:                    "",
		AutoMigrate:               true,
		AccessTokenLifetime:       time.Hour,
		RefreshTokenLifetime:      30 * 24 * time.Hour,
		AuthorizationCodeLifetime: time.Minute,
		IDTokenLifetime:           time.Hour,
		KeysRefreshInterval:       30 * time.Second,
		ClientCacheTTL:            5 * time.Second,
		LogLevel:                  "info",
		ShutdownTimeout:           30 * time.Second,
		MaxRequestBytes:           64 << 10,
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
		slog.Duration("access_token_lifetime", c.AccessTokenLifetime),
		slog.Duration("refresh_token_lifetime", c.RefreshTokenLifetime),
		slog.Duration("authorization_code_lifetime", c.AuthorizationCodeLifetime),
		slog.Duration("id_token_lifetime", c.IDTokenLifetime),
		slog.Duration("keys_refresh_interval", c.KeysRefreshInterval),
		slog.Duration("client_cache_ttl", c.ClientCacheTTL),
		slog.String("log_level", c.LogLevel),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Int64("max_request_bytes", c.MaxRequestBytes),
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
