// Package keys manages the server's signing keys: it generates them, keeps
// their private parts sealed at rest under the system secret, rotates them
// with an overlap during which the previous key stays published, and serves
// the public JWK Set.
//
// Keys move through the states of storage.KeyState. At most one key per
// algorithm is active and signs new tokens; a rotated-out key is published
// only, so tokens it signed still verify; a retired key is gone from the
// JWKS and its private part is erased by the store.
//
// A Manager caches an immutable snapshot of the keys. Active, JWKS and
// VerificationKey read the snapshot with one atomic load while it is younger
// than Options.RefreshInterval, and reload it from the store (one reload
// shared by concurrent callers) once it is older. A rotation made by another
// replica is therefore used within RefreshInterval.
package keys

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	josev3 "github.com/go-jose/go-jose/v3"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Supported JWS algorithms.
const (
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); the key size is
	// Options.RSABits.
	RS256 = "RS256"
	// ES256 is ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
	ES256 = "ES256"
)

// Algorithms lists the supported algorithms, in the order EnsureKeys
// creates them.
func Algorithms() []string { return []string{RS256, ES256} }

// Defaults and limits of Options.
const (
	// DefaultRefreshInterval is the RefreshInterval used when none is set.
	DefaultRefreshInterval = 30 * time.Second
	// MinRSABits is the smallest RSA modulus the Manager generates, and the
	// default.
	MinRSABits = 2048
)

// Options tunes a Manager. The zero value is usable.
type Options struct {
	// RefreshInterval is how often keys are re-read from the store; a
	// rotation made by another replica is used within this time. Zero or
	// negative means DefaultRefreshInterval.
	RefreshInterval time.Duration
	// RSABits is the size of generated RSA keys. Zero means MinRSABits; a
	// value below MinRSABits is raised to it (and a warning is logged).
	RSABits int
	// Now returns the current time; nil means time.Now. Tests set a fake
	// clock here.
	Now func() time.Time
	// Logger receives the Manager's logs, which never carry key material;
	// nil means a logger that discards everything.
	Logger *slog.Logger
	// Events records key.rotated in the transaction of each rotation and
	// retirement; nil records nothing (tests only: the server and the
	// command line build the Manager with pkg/server.NewServices).
	Events events.Sink
}

// Store is what a Manager needs of the store.
type Store interface {
	storage.SigningKeyStore
	storage.Transactor
}

// Key is a private signing key, ready to sign.
type Key struct {
	// ID is the key id ("kid"): the RFC 7638 SHA-256 thumbprint of the
	// public key, base64url-encoded without padding.
	ID string
	// Algorithm is the JWS algorithm, RS256 or ES256.
	Algorithm string
	// Private is the private key: *rsa.PrivateKey or *ecdsa.PrivateKey
	// (P-256).
	Private crypto.Signer
}

// JOSE returns the key as a go-jose v3 JSON Web Key with KeyID, Algorithm
// and Use "sig" set, the form fosite's jwt.DefaultSigner needs to sign with
// the right algorithm and to put the kid in the JWS header. Each call
// returns a new value, so callers may not change the Key through it.
func (k Key) JOSE() *josev3.JSONWebKey {
	return &josev3.JSONWebKey{
		Key:       k.Private,
		KeyID:     k.ID,
		Algorithm: k.Algorithm,
		Use:       "sig",
	}
}

// Manager generates, rotates, retires and serves signing keys. It is safe
// for concurrent use; construct it with NewManager.
type Manager struct {
	store    Store
	events   events.Sink
	sealer   *secret.Keys
	interval time.Duration
	rsaBits  int
	now      func() time.Time
	log      *slog.Logger

	// snap is the current snapshot; it is replaced, never changed.
	snap atomic.Pointer[snapshot]
	// seq numbers the loads in the order they start, so a slow load that
	// started first never replaces the result of one that started later.
	seq atomic.Uint64

	mu     sync.Mutex // guards flight
	flight *flight    // the reload in progress, shared by its callers
}

// NewManager returns a Manager over store that seals and opens private keys
// with sealer. It does not touch the store: call EnsureKeys (or Refresh)
// before serving, and Run in the background.
func NewManager(store Store, sealer *secret.Keys, opts Options) *Manager {
	m := &Manager{
		store:    store,
		events:   events.SinkOr(opts.Events),
		sealer:   sealer,
		interval: opts.RefreshInterval,
		rsaBits:  opts.RSABits,
		now:      opts.Now,
		log:      opts.Logger,
	}
	if m.interval <= 0 {
		m.interval = DefaultRefreshInterval
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.rsaBits == 0 {
		m.rsaBits = MinRSABits
	} else if m.rsaBits < MinRSABits {
		m.log.Warn("keys: RSA key size below the minimum; using the minimum",
			"configured_bits", m.rsaBits, "bits", MinRSABits)
		m.rsaBits = MinRSABits
	}
	return m
}

// EnsureKeys creates an active RS256 and an active ES256 key when the store
// has no active key of that algorithm, then loads the keys. Several replicas
// may race at first start: a replica that loses the race to create a key
// uses the winner's, so exactly one key per algorithm ends up active.
func (m *Manager) EnsureKeys(ctx context.Context) error {
	stored, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: ensure keys: list signing keys: %w", err)
	}
	for _, alg := range Algorithms() {
		if slices.ContainsFunc(stored, func(k storage.SigningKey) bool {
			return k.Algorithm == alg && k.State == storage.KeyActive
		}) {
			continue
		}
		k, err := m.generate(alg)
		if err != nil {
			return fmt.Errorf("keys: ensure keys: %w", err)
		}
		switch err := m.store.ActivateSigningKey(ctx, k, true); {
		case errors.Is(err, storage.ErrAlreadyExists):
			m.log.Info("keys: another replica created the first signing key; using it", "alg", alg)
		case err != nil:
			return fmt.Errorf("keys: ensure keys: activate %s key %s: %w", alg, k.ID, err)
		default:
			m.log.Info("keys: signing key created", "kid", k.ID, "alg", alg)
		}
	}
	if _, err := m.load(ctx); err != nil {
		return fmt.Errorf("keys: ensure keys: %w", err)
	}
	return nil
}

// Rotate generates a new key of alg and makes it the active signing key. The
// previously active key of alg is demoted to published: it no longer signs
// but stays in the JWKS, so the tokens it signed verify until Retire removes
// it. Rotate then reloads the cache, so this Manager signs with the new key
// at once; other replicas follow within RefreshInterval. The returned
// metadata carries no private material.
func (m *Manager) Rotate(ctx context.Context, alg string) (storage.SigningKey, error) {
	k, err := m.generate(alg)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("keys: rotate: %w", err)
	}
	err = m.store.InTx(ctx, func(ctx context.Context) error {
		if err := m.store.ActivateSigningKey(ctx, k, false); err != nil {
			return fmt.Errorf("keys: rotate: activate %s key %s: %w", alg, k.ID, err)
		}
		return m.events.Record(ctx, events.New(ctx, events.KeyRotated, k.ID,
			events.KeyRotatedData{KID: k.ID, Alg: alg, State: string(storage.KeyActive)}))
	})
	if err != nil {
		return storage.SigningKey{}, err
	}
	m.log.Info("keys: signing key rotated", "kid", k.ID, "alg", alg)
	if _, err := m.load(ctx); err != nil {
		return storage.SigningKey{}, fmt.Errorf("keys: rotate: key %s is active but reloading failed: %w", k.ID, err)
	}
	k.SealedPrivateKey = nil
	return k, nil
}

// Retire removes a published key from the JWKS; the store erases its private
// part. Retiring the active key fails with storage.ErrKeyInUse (rotate
// first), and an unknown kid with storage.ErrNotFound. Tokens signed by a
// retired key no longer verify. Retire then reloads the cache.
//
// Retiring records key.rotated (state "retired") in the same transaction.
func (m *Manager) Retire(ctx context.Context, kid string) error {
	err := m.store.InTx(ctx, func(ctx context.Context) error {
		if err := m.store.RetireSigningKey(ctx, kid); err != nil {
			return fmt.Errorf("keys: retire %s: %w", kid, err)
		}
		all, err := m.store.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys: retire %s: %w", kid, err)
		}
		alg := ""
		for _, k := range all {
			if k.ID == kid {
				alg = k.Algorithm
			}
		}
		return m.events.Record(ctx, events.New(ctx, events.KeyRotated, kid,
			events.KeyRotatedData{KID: kid, Alg: alg, State: string(storage.KeyRetired)}))
	})
	if err != nil {
		return err
	}
	m.log.Info("keys: signing key retired", "kid", kid)
	if _, err := m.load(ctx); err != nil {
		return fmt.Errorf("keys: retire %s: key is retired but reloading failed: %w", kid, err)
	}
	return nil
}

// List returns the metadata of every key, retired ones included, newest
// first. The copies never carry private material: SealedPrivateKey is
// cleared.
func (m *Manager) List(ctx context.Context) ([]storage.SigningKey, error) {
	stored, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	for i := range stored {
		stored[i].SealedPrivateKey = nil
	}
	return stored, nil
}

// Refresh reloads the keys from the store now and decrypts the active ones.
// It fails, keeping the previous set, if the store fails or a key cannot be
// used; a key sealed under another system secret gives an error that says
// so (and matches secret.ErrDecrypt under errors.Is).
func (m *Manager) Refresh(ctx context.Context) error {
	if _, err := m.load(ctx); err != nil {
		return fmt.Errorf("keys: refresh: %w", err)
	}
	return nil
}

// Run reloads the keys every RefreshInterval until ctx is done. A failed
// reload is logged and the last good set stays in use. Run does not load
// the keys at start; call EnsureKeys or Refresh first.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Failures are logged by the reload itself.
			_, _ = m.shared(ctx, false)
		}
	}
}

// Active returns the current signing key of alg. While the cached set is
// younger than RefreshInterval this is a lock-free atomic load; otherwise it
// reloads first, sharing one reload with concurrent callers. If that reload
// fails after an earlier one succeeded, the last good set is used (and the
// failure logged); the error is returned only when no set was ever loaded.
// An algorithm without an active key is storage.ErrNotFound.
func (m *Manager) Active(ctx context.Context, alg string) (Key, error) {
	i := algIndex(alg)
	if i < 0 {
		return Key{}, fmt.Errorf("keys: active: unsupported algorithm %q", alg)
	}
	s, err := m.current(ctx)
	if err != nil {
		return Key{}, fmt.Errorf("keys: active %s: %w", alg, err)
	}
	if s.active[i].ID == "" {
		return Key{}, fmt.Errorf("keys: active %s: no active key: %w", alg, storage.ErrNotFound)
	}
	return s.active[i], nil
}

// JWKS returns the JSON of the public JWK Set (RFC 7517 §5): the active and
// published keys, newest first, each with kty, kid, alg, use "sig" and the
// public parameters only. The document is built once per loaded set; it is
// reloaded first when stale, as in Active. The caller owns the returned
// slice.
func (m *Manager) JWKS(ctx context.Context) ([]byte, error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: jwks: %w", err)
	}
	return bytes.Clone(s.jwks), nil
}

// VerificationKey returns the public key with the kid, and its algorithm,
// if the kid is an active or published key (for checking id_token_hint and
// the like). Retired and unknown kids report false; so does a failure to
// load any key set. An unknown kid does not force a reload: a key another
// replica has just rotated in is found within RefreshInterval.
func (m *Manager) VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, string, bool) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, "", false
	}
	p, ok := s.public[kid]
	if !ok {
		return nil, "", false
	}
	return p.key, p.alg, true
}
