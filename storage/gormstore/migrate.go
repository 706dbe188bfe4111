package gormstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one versioned schema change. Its statements are written once
// with {{placeholders}} for the types that differ between the dialects.
type migration struct {
	version    int
	name       string
	statements []string
	// dialect holds statements for one dialect only (SQLite or Postgres),
	// run after the common ones.
	dialect map[string][]string
}

// migrations is the schema's history. Append only: never edit a migration
// that has shipped.
var migrations = []migration{
	{
		version: 1,
		name:    "clients, signing keys, tokens",
		statements: []string{
			`CREATE TABLE clients (
				id TEXT PRIMARY KEY,
				secret_hash {{bytes}},
				name TEXT NOT NULL,
				public BOOLEAN NOT NULL,
				token_endpoint_auth_method TEXT NOT NULL,
				skip_consent BOOLEAN NOT NULL,
				metadata TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				updated_at {{time}} NOT NULL
			)`,
			`CREATE TABLE signing_keys (
				id TEXT PRIMARY KEY,
				algorithm TEXT NOT NULL,
				state TEXT NOT NULL,
				sealed_private_key {{bytes}},
				public_jwk TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				deactivated_at {{time}},
				retired_at {{time}}
			)`,
			// At most one active key per algorithm, whichever replica writes.
			`CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (algorithm) WHERE state = 'active'`,
			// One table for every token kind: codes, access and refresh tokens,
			// and the OpenID Connect and PKCE data of a code. A grant's rows share
			// request_id, which is how a family is revoked at once.
			`CREATE TABLE tokens (
				kind TEXT NOT NULL,
				signature TEXT NOT NULL,
				request_id TEXT NOT NULL,
				client_id TEXT NOT NULL,
				subject TEXT NOT NULL,
				active BOOLEAN NOT NULL,
				requested_at {{time}} NOT NULL,
				expires_at {{time}},
				data TEXT NOT NULL,
				PRIMARY KEY (kind, signature)
			)`,
			`CREATE INDEX tokens_request_id ON tokens (request_id)`,
			`CREATE INDEX tokens_client_subject ON tokens (client_id, subject)`,
			`CREATE INDEX tokens_expires_at ON tokens (expires_at)`,
			`CREATE TABLE client_assertion_jtis (
				jti TEXT PRIMARY KEY,
				expires_at {{time}} NOT NULL
			)`,
		},
	},
	{
		version: 2,
		name:    "users, browser sessions, consents, authorization requests, logout deliveries",
		statements: []string{
			// email is NULL for a customer without one, so that any number of
			// them can exist under the unique index; otherwise lower-cased.
			`CREATE TABLE users (
				id TEXT PRIMARY KEY,
				email TEXT UNIQUE,
				email_verified BOOLEAN NOT NULL,
				password_hash TEXT NOT NULL,
				name TEXT NOT NULL,
				given_name TEXT NOT NULL,
				family_name TEXT NOT NULL,
				picture TEXT NOT NULL,
				locale TEXT NOT NULL,
				phone_number TEXT NOT NULL,
				phone_number_verified BOOLEAN NOT NULL,
				address TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				updated_at {{time}} NOT NULL
			)`,
			// id is the hash of the cookie's secret; sid is public.
			`CREATE TABLE browser_sessions (
				id TEXT PRIMARY KEY,
				sid TEXT NOT NULL UNIQUE,
				user_id TEXT NOT NULL,
				auth_time {{time}} NOT NULL,
				amr TEXT NOT NULL,
				acr TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				last_seen_at {{time}} NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
			`CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id)`,
			`CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at)`,
			// The clients a session signed in to, for front- and back-channel
			// logout. Deleted together with the session.
			`CREATE TABLE session_clients (
				session_id TEXT NOT NULL,
				client_id TEXT NOT NULL,
				PRIMARY KEY (session_id, client_id)
			)`,
			`CREATE TABLE consents (
				user_id TEXT NOT NULL,
				client_id TEXT NOT NULL,
				scopes TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				updated_at {{time}} NOT NULL,
				PRIMARY KEY (user_id, client_id)
			)`,
			`CREATE TABLE auth_requests (
				id TEXT PRIMARY KEY,
				client_id TEXT NOT NULL,
				form TEXT NOT NULL,
				requested_at {{time}} NOT NULL,
				browser_binding TEXT NOT NULL,
				session_id TEXT NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
			`CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at)`,
			`CREATE TABLE logout_deliveries (
				id TEXT PRIMARY KEY,
				client_id TEXT NOT NULL,
				uri TEXT NOT NULL,
				logout_token TEXT NOT NULL,
				attempts INTEGER NOT NULL,
				next_attempt {{time}} NOT NULL,
				created_at {{time}} NOT NULL
			)`,
			`CREATE INDEX logout_deliveries_next_attempt ON logout_deliveries (next_attempt)`,
		},
	},
	{
		version: 3,
		name:    "federated sign-in: identities, federation states, pending links, the session's identity provider",
		statements: []string{
			// The upstream identity provider that vouched for a sign-in.
			`ALTER TABLE browser_sessions ADD COLUMN idp TEXT NOT NULL DEFAULT ''`,
			// An upstream account is linked to one customer; a customer has
			// one account per provider.
			`CREATE TABLE identities (
				provider TEXT NOT NULL,
				subject TEXT NOT NULL,
				user_id TEXT NOT NULL,
				email TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				last_used_at {{time}} NOT NULL,
				PRIMARY KEY (provider, subject)
			)`,
			`CREATE UNIQUE INDEX identities_user_provider ON identities (user_id, provider)`,
			// id is the SHA-256 of the state parameter, so a callback finds
			// its sign-in without a cookie (form_post is a cross-site POST).
			`CREATE TABLE federation_states (
				id TEXT PRIMARY KEY,
				provider TEXT NOT NULL,
				purpose TEXT NOT NULL,
				session TEXT NOT NULL,
				nonce TEXT NOT NULL,
				code_verifier TEXT NOT NULL,
				browser_binding TEXT NOT NULL,
				auth_request_id TEXT NOT NULL,
				user_id TEXT NOT NULL,
				pending_link_id TEXT NOT NULL,
				callback TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
			`CREATE INDEX federation_states_expires_at ON federation_states (expires_at)`,
			`CREATE TABLE pending_links (
				id TEXT PRIMARY KEY,
				provider TEXT NOT NULL,
				subject TEXT NOT NULL,
				user_id TEXT NOT NULL,
				email TEXT NOT NULL,
				browser_binding TEXT NOT NULL,
				auth_request_id TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
			`CREATE INDEX pending_links_expires_at ON pending_links (expires_at)`,
		},
	},
	{
		version: 4,
		name:    "initial access tokens for dynamic client registration",
		statements: []string{
			// id is the keyed hash of the token; uses_left -1 means unlimited.
			`CREATE TABLE registration_tokens (
				id TEXT PRIMARY KEY,
				uses_left INTEGER NOT NULL,
				created_at {{time}} NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
		},
	},
	{
		version: 5,
		name:    "throttling: counters and known devices",
		statements: []string{
			// Times in milliseconds since 1970, so that the one-statement
			// upsert can compare them the same way in both dialects.
			`CREATE TABLE throttle_counters (
				id TEXT PRIMARY KEY,
				hits INTEGER NOT NULL,
				prev_ms BIGINT NOT NULL,
				last_ms BIGINT NOT NULL,
				expires_ms BIGINT NOT NULL
			)`,
			`CREATE INDEX throttle_counters_expires_ms ON throttle_counters (expires_ms)`,
			// account is a keyed hash of the normalized email, device the
			// SHA-256 of the device cookie.
			`CREATE TABLE known_devices (
				account TEXT NOT NULL,
				device TEXT NOT NULL,
				expires_at {{time}} NOT NULL,
				PRIMARY KEY (account, device)
			)`,
			`CREATE INDEX known_devices_expires_at ON known_devices (expires_at)`,
		},
	},
	{
		version: 7,
		name:    "events (the audit log) and durable jobs",
		statements: []string{
			// id is a UUIDv7: it sorts by creation, so it is the cursor.
			`CREATE TABLE events (
				id TEXT PRIMARY KEY,
				type TEXT NOT NULL,
				time {{time}} NOT NULL,
				subject TEXT NOT NULL,
				actor_type TEXT NOT NULL,
				actor_id TEXT NOT NULL,
				request_id TEXT NOT NULL,
				data TEXT NOT NULL
			)`,
			`CREATE INDEX events_subject ON events (subject, id)`,
			`CREATE INDEX events_type ON events (type, id)`,
			`CREATE INDEX events_time ON events (time)`,
			// The one durable queue: mail, webhooks, back-channel logouts.
			`CREATE TABLE jobs (
				id TEXT PRIMARY KEY,
				kind TEXT NOT NULL,
				queue TEXT NOT NULL,
				payload TEXT NOT NULL,
				state TEXT NOT NULL,
				run_at {{time}} NOT NULL,
				attempts INTEGER NOT NULL,
				lease_until {{time}},
				last_error TEXT NOT NULL,
				created_at {{time}} NOT NULL
			)`,
			`CREATE INDEX jobs_due ON jobs (state, run_at)`,
			`CREATE INDEX jobs_queue ON jobs (queue, state, id)`,
			// Back-channel logouts move onto the queue (pkg/backchannel's
			// payload: client_id, sub and sid, form-encoded; the URI is read
			// from the client at delivery).
			`INSERT INTO jobs (id, kind, queue, payload, state, run_at, attempts, lease_until, last_error, created_at)
				SELECT id, 'backchannel_logout', '', 'client_id=' || client_id || '&' || logout_token, 'queued', next_attempt, attempts, NULL, '', created_at
				FROM logout_deliveries`,
			`DELETE FROM logout_deliveries`,
		},
	},
	{
		version: 8,
		name:    "webhook subscriptions, deliveries and attempts",
		statements: []string{
			// event_types is a JSON array; empty sends every type. The
			// secrets are sealed with the id as additional data.
			`CREATE TABLE webhooks (
				id TEXT PRIMARY KEY,
				url TEXT NOT NULL,
				event_types TEXT NOT NULL,
				enabled BOOLEAN NOT NULL,
				sealed_secret {{bytes}} NOT NULL,
				sealed_previous_secret {{bytes}},
				previous_secret_until {{time}},
				sequence BIGINT NOT NULL,
				created_at {{time}} NOT NULL,
				updated_at {{time}} NOT NULL
			)`,
			// One row per delivery job (same id), kept after the job is done.
			`CREATE TABLE webhook_deliveries (
				id TEXT PRIMARY KEY,
				webhook_id TEXT NOT NULL,
				event_id TEXT NOT NULL,
				event_type TEXT NOT NULL,
				sequence BIGINT NOT NULL,
				replay BOOLEAN NOT NULL,
				succeeded BOOLEAN NOT NULL,
				created_at {{time}} NOT NULL
			)`,
			`CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id)`,
			`CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at)`,
			`CREATE TABLE webhook_attempts (
				id TEXT PRIMARY KEY,
				delivery_id TEXT NOT NULL,
				webhook_id TEXT NOT NULL,
				event_id TEXT NOT NULL,
				time {{time}} NOT NULL,
				status_code INTEGER NOT NULL,
				error TEXT NOT NULL,
				duration_ms BIGINT NOT NULL
			)`,
			`CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`,
			`CREATE INDEX webhook_attempts_time ON webhook_attempts (time)`,
		},
	},
	{
		version: 9,
		name:    "second factors: TOTP credentials and recovery codes",
		statements: []string{
			// Set and cleared with the rows below (MFAStore), so a sign-in
			// reads from the customer's row whether to ask for a second
			// factor.
			`ALTER TABLE users ADD COLUMN mfa BOOLEAN NOT NULL DEFAULT FALSE`,
			// sealed_key is the RFC 6238 key, sealed (AES-256-GCM) with the
			// customer's ID as additional data; last_step the last accepted
			// time step, so a code is accepted once.
			`CREATE TABLE mfa_totp (
				user_id TEXT PRIMARY KEY,
				sealed_key {{bytes}} NOT NULL,
				confirmed BOOLEAN NOT NULL,
				last_step BIGINT NOT NULL,
				created_at {{time}} NOT NULL
			)`,
			// code_hash is HMAC-SHA256 of the code under a key derived from
			// the system secret; the code itself is shown once, never kept.
			`CREATE TABLE mfa_recovery_codes (
				user_id TEXT NOT NULL,
				code_hash TEXT NOT NULL,
				used_at {{time}},
				created_at {{time}} NOT NULL,
				PRIMARY KEY (user_id, code_hash)
			)`,
		},
	},
	{
		version: 10,
		name:    "customers' external ids (imports); indexes for prefix search on email and name",
		statements: []string{
			// The customer's id in the system they were imported from; NULL
			// for none, so that the unique index lets any number have none.
			`ALTER TABLE users ADD COLUMN external_id TEXT`,
			`CREATE UNIQUE INDEX users_external_id ON users (external_id)`,
		},
		dialect: map[string][]string{
			// SQLite: the email's unique index serves a prefix as a range
			// (email >= p AND email < p'); the name's range runs on lower(name).
			SQLite: {`CREATE INDEX users_name_lower ON users (lower(name))`},
			// PostgreSQL: LIKE 'p%' uses a btree only under the C collation
			// or with the pattern operator class, whatever the database's
			// collation. The email's unique index takes that class itself
			// (it serves equality as well), rather than a second index
			// beside it.
			Postgres: {
				`CREATE UNIQUE INDEX users_email_pattern ON users (email text_pattern_ops)`,
				`ALTER TABLE users DROP CONSTRAINT users_email_key`,
				`CREATE INDEX users_name_lower_pattern ON users (lower(name) text_pattern_ops)`,
			},
		},
	},
	{
		version: 11,
		name:    "passkeys: WebAuthn credentials and ceremony state",
		statements: []string{
			// id is the credential ID, base64url; credential is pkg/passkey's
			// encoding of the public key and flags; sign_count the last
			// signature counter (WebAuthn §6.1.1), updated on condition.
			`CREATE TABLE webauthn_credentials (
				id TEXT PRIMARY KEY,
				user_id TEXT NOT NULL,
				name TEXT NOT NULL,
				credential {{bytes}} NOT NULL,
				sign_count BIGINT NOT NULL,
				backup_eligible BOOLEAN NOT NULL,
				created_at {{time}} NOT NULL,
				last_used_at {{time}}
			)`,
			`CREATE INDEX webauthn_credentials_user_id ON webauthn_credentials (user_id)`,
			// One row per ceremony under way, taken (deleted) once.
			`CREATE TABLE webauthn_challenges (
				id TEXT PRIMARY KEY,
				device TEXT NOT NULL,
				user_id TEXT NOT NULL,
				kind TEXT NOT NULL,
				data {{bytes}} NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
		},
	},
	{
		version: 12,
		name:    "mailed single-use tokens: verification, reset and sign-in codes",
		statements: []string{
			// hash is a keyed hash of the link's token or the code; the
			// secret itself is only ever in the mail.
			`CREATE TABLE email_tokens (
				hash TEXT PRIMARY KEY,
				purpose TEXT NOT NULL,
				user_id TEXT NOT NULL,
				email TEXT NOT NULL,
				auth_request_id TEXT NOT NULL,
				expires_at {{time}} NOT NULL,
				created_at {{time}} NOT NULL
			)`,
			`CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose)`,
			`CREATE INDEX email_tokens_expires ON email_tokens (expires_at)`,
		},
	},
	{
		version: 13,
		name:    "the account page: where a session began, pending email changes",
		statements: []string{
			// The browser's User-Agent (truncated) and address when the
			// session began, for the customer's list of their sessions.
			`ALTER TABLE browser_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE browser_sessions ADD COLUMN ip TEXT NOT NULL DEFAULT ''`,
			// One pending change of email per customer. token_hash is the
			// SHA-256 of the link's token; the token itself is mailed, never
			// kept.
			`CREATE TABLE email_changes (
				user_id TEXT PRIMARY KEY,
				new_email TEXT NOT NULL,
				token_hash TEXT NOT NULL UNIQUE,
				created_at {{time}} NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
			`CREATE INDEX email_changes_expires_at ON email_changes (expires_at)`,
		},
	},
	{
		version: 14,
		name:    "customer attributes: their values on the customer's row, an index of the searchable ones",
		statements: []string{
			// A compact JSON object of the customer's attribute values
			// ({"tier":"gold"}), NULL for none: a customer without
			// attributes costs nothing, and a token's claims are read with
			// the row the grant reads anyway.
			`ALTER TABLE users ADD COLUMN attributes TEXT`,
		},
		// The values of searchable attributes only, one row per (name,
		// value, customer): the primary key serves an exact lookup by
		// value in customer order (a page after a cursor) from the index
		// alone. Rows are removed by the same key, from the old values
		// on the customer's row, so no index by customer is needed.
		dialect: map[string][]string{
			SQLite: {`CREATE TABLE user_attribute_index (
				name TEXT NOT NULL,
				value TEXT NOT NULL,
				user_id TEXT NOT NULL,
				PRIMARY KEY (name, value, user_id)
			) WITHOUT ROWID`},
			Postgres: {`CREATE TABLE user_attribute_index (
				name TEXT NOT NULL,
				value TEXT NOT NULL,
				user_id TEXT NOT NULL,
				PRIMARY KEY (name, value, user_id)
			)`},
		},
	},
	{
		version: 15,
		name:    "roles and their assignments; disabled customers",
		statements: []string{
			// client_id is '' for a global role, so that one unique index
			// keeps names unique among the global roles and within each
			// client; CreateRole keeps a client role from taking a global
			// role's name.
			`CREATE TABLE roles (
				id TEXT PRIMARY KEY,
				name TEXT NOT NULL,
				client_id TEXT NOT NULL,
				description TEXT NOT NULL,
				default_role BOOLEAN NOT NULL,
				created_at {{time}} NOT NULL
			)`,
			`CREATE UNIQUE INDEX roles_client_name ON roles (client_id, name)`,
			`CREATE INDEX roles_name ON roles (name)`,
			// Indexed both ways: by customer (the primary key: the roles
			// claim, a deletion) and by role (the search, a role's deletion).
			`CREATE TABLE role_assignments (
				user_id TEXT NOT NULL,
				role_id TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				PRIMARY KEY (user_id, role_id)
			)`,
			`CREATE INDEX role_assignments_role ON role_assignments (role_id, user_id)`,
			// A disabled customer cannot sign in (accounts.DisableCustomer).
			`ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE`,
		},
	},
	{
		version: 16,
		name:    "browsers remembered for the second factor; passkey ceremonies collected by expiry",
		statements: []string{
			// id is pkg/mfa's SHA-256 of the customer and the hash of the
			// browser's device cookie.
			`CREATE TABLE mfa_devices (
				id TEXT PRIMARY KEY,
				user_id TEXT NOT NULL,
				user_agent TEXT NOT NULL,
				ip TEXT NOT NULL,
				verified_at {{time}} NOT NULL,
				expires_at {{time}} NOT NULL
			)`,
			`CREATE INDEX mfa_devices_user_id ON mfa_devices (user_id)`,
			`CREATE INDEX mfa_devices_expires_at ON mfa_devices (expires_at)`,
			`CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at)`,
		},
	},
	{
		version: 17,
		name:    "drop logout_deliveries, emptied into jobs by migration 7",
		statements: []string{
			`DROP TABLE logout_deliveries`,
		},
	},
	{
		version: 18,
		name:    "SQLite: the customers' email uniqueness as a named index",
		// The column constraint (email TEXT UNIQUE) made an index SQLite
		// cannot drop; a named unique index can be, so an initial load
		// (Store.InitialLoad) builds it once from the sorted emails
		// instead of inserting a million random keys one at a time. SQLite
		// changes a column's constraints only by rebuilding the table: the
		// same columns in the same order, then the indexes the old table
		// took with it. Nothing references users by foreign key.
		dialect: map[string][]string{
			SQLite: {
				`CREATE TABLE users_rebuilt (
					id TEXT PRIMARY KEY,
					email TEXT,
					email_verified BOOLEAN NOT NULL,
					password_hash TEXT NOT NULL,
					name TEXT NOT NULL,
					given_name TEXT NOT NULL,
					family_name TEXT NOT NULL,
					picture TEXT NOT NULL,
					locale TEXT NOT NULL,
					phone_number TEXT NOT NULL,
					phone_number_verified BOOLEAN NOT NULL,
					address TEXT NOT NULL,
					created_at TIMESTAMP NOT NULL,
					updated_at TIMESTAMP NOT NULL,
					mfa BOOLEAN NOT NULL DEFAULT FALSE,
					external_id TEXT,
					attributes TEXT,
					disabled BOOLEAN NOT NULL DEFAULT FALSE
				)`,
				`INSERT INTO users_rebuilt (id, email, email_verified, password_hash, name, given_name, family_name, picture, locale,
					phone_number, phone_number_verified, address, created_at, updated_at, mfa, external_id, attributes, disabled)
				SELECT id, email, email_verified, password_hash, name, given_name, family_name, picture, locale,
					phone_number, phone_number_verified, address, created_at, updated_at, mfa, external_id, attributes, disabled FROM users`,
				`DROP TABLE users`,
				`ALTER TABLE users_rebuilt RENAME TO users`,
				`CREATE UNIQUE INDEX users_email ON users (email)`,
				`CREATE UNIQUE INDEX users_external_id ON users (external_id)`,
				`CREATE INDEX users_name_lower ON users (lower(name))`,
			},
		},
	},
}

var dialectTypes = map[string]*strings.Replacer{
	SQLite:   strings.NewReplacer("{{bytes}}", "BLOB", "{{time}}", "TIMESTAMP"),
	Postgres: strings.NewReplacer("{{bytes}}", "BYTEA", "{{time}}", "TIMESTAMPTZ"),
}

// schemaMigration records an applied migration.
type schemaMigration struct {
	Version   int       `gorm:"column:version;primaryKey"`
	Name      string    `gorm:"column:name"`
	AppliedAt time.Time `gorm:"column:applied_at"`
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// LatestVersion is the schema version this build expects.
func LatestVersion() int { return migrations[len(migrations)-1].version }

// Migrate applies every migration not yet applied, each in its own
// transaction, and returns the versions it applied. On PostgreSQL an
// advisory lock keeps two replicas from migrating at once; on SQLite the
// single write connection does.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	return s.migrate(ctx, LatestVersion())
}

// migrateTo applies the migrations up to version, for tests of a
// migration's data changes.
func (s *Store) migrateTo(ctx context.Context, version int) error {
	_, err := s.migrate(ctx, version)
	return err
}

// migrate applies the missing migrations up to version.
func (s *Store) migrate(ctx context.Context, upTo int) ([]int, error) {
	var applied []int
	err := s.write.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if s.kind == Postgres {
			if err := conn.Exec("SELECT pg_advisory_lock(7411)").Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			defer conn.Exec("SELECT pg_advisory_unlock(7411)")
		}
		if err := conn.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ` + dialectTypes[s.kind].Replace("{{time}}") + ` NOT NULL)`).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		done := map[int]bool{}
		var rows []schemaMigration
		if err := conn.Find(&rows).Error; err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for _, r := range rows {
			done[r.Version] = true
		}
		for _, m := range migrations {
			if done[m.version] || m.version > upTo {
				continue
			}
			err := conn.Transaction(func(tx *gorm.DB) error {
				for _, stmt := range append(m.statements[:len(m.statements):len(m.statements)], m.dialect[s.kind]...) {
					if err := tx.Exec(dialectTypes[s.kind].Replace(stmt)).Error; err != nil {
						return err
					}
				}
				return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: time.Now().UTC()}).Error
			})
			if err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			applied = append(applied, m.version)
		}
		return nil
	})
	if err != nil {
		return applied, fmt.Errorf("gormstore: migrate: %w", err)
	}
	return applied, nil
}

// SchemaVersion returns the highest applied migration, 0 for none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if !s.reader(ctx).Migrator().HasTable("schema_migrations") {
		return 0, nil
	}
	var v *int
	err := s.reader(ctx).Raw("SELECT MAX(version) FROM schema_migrations").Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("gormstore: schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}
