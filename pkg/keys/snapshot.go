package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// snapshot is one loaded key set. It is never changed once published in
// Manager.snap, so readers need no lock.
type snapshot struct {
	// seq orders snapshots by the start of the load that made them.
	seq uint64
	// loadedAt is when that load started; the snapshot is stale once it is
	// RefreshInterval old.
	loadedAt time.Time
	// active holds the signing key of each algorithm, indexed by algIndex;
	// an array, not a map, keeps Active's lookup to a string comparison.
	active [numAlgs]Key
	// public holds the active and published keys by kid.
	public map[string]publicKey
	// jwks is the JSON JWK Set of the active and published keys.
	jwks []byte
}

// publicKey is a key that verifies signatures.
type publicKey struct {
	key crypto.PublicKey
	alg string
}

// flight is a reload shared by the callers that arrive while it runs.
type flight struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// numAlgs is the number of supported algorithms.
const numAlgs = 2

// algIndex returns the index of alg in snapshot.active, or -1 if alg is
// not supported.
func algIndex(alg string) int {
	switch alg {
	case RS256:
		return 0
	case ES256:
		return 1
	}
	return -1
}

var errReloadAborted = errors.New("reload aborted")

// fresh reports whether s is younger than the refresh interval.
func (m *Manager) fresh(s *snapshot) bool {
	return m.now().Sub(s.loadedAt) < m.interval
}

// current returns a snapshot that is fresh, or the last good one if
// reloading fails.
func (m *Manager) current(ctx context.Context) (*snapshot, error) {
	if s := m.snap.Load(); s != nil && m.fresh(s) {
		return s, nil
	}
	s, err := m.shared(ctx, true)
	if err != nil {
		if old := m.snap.Load(); old != nil {
			return old, nil
		}
		return nil, err
	}
	return s, nil
}

// shared reloads the keys, one reload at a time: a caller that arrives
// while a reload runs waits for it and shares its result. With ifStale, a
// caller that finds a fresh snapshot returns it without reloading.
//
// When the reload fails and an earlier one succeeded, the failure is logged
// and the last good set is kept and counted as fresh for one more interval,
// so a failing store is retried once per interval rather than by every
// request.
func (m *Manager) shared(ctx context.Context, ifStale bool) (*snapshot, error) {
	for {
		m.mu.Lock()
		if s := m.snap.Load(); ifStale && s != nil && m.fresh(s) {
			m.mu.Unlock()
			return s, nil
		}
		f := m.flight
		leader := f == nil
		if leader {
			f = &flight{done: make(chan struct{}), err: errReloadAborted}
			m.flight = f
		}
		m.mu.Unlock()

		if leader {
			m.lead(ctx, f)
			return f.snap, f.err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil && ctx.Err() == nil &&
			(errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			continue // the leader's context ended, not ours: reload again
		}
		return f.snap, f.err
	}
}

// lead runs the shared reload f and publishes its result.
func (m *Manager) lead(ctx context.Context, f *flight) {
	defer func() {
		m.mu.Lock()
		m.flight = nil
		m.mu.Unlock()
		close(f.done)
	}()
	s, err := m.load(ctx)
	if err != nil {
		if old := m.snap.Load(); old != nil && ctx.Err() == nil {
			m.log.Warn("keys: reloading the signing keys failed; keeping the last good set",
				"err", err, "retry_in", m.interval)
			retry := *old
			retry.loadedAt = m.now()
			m.snap.CompareAndSwap(old, &retry)
		}
		f.snap, f.err = nil, err
		return
	}
	f.snap, f.err = s, nil
}

// load reads the keys from the store, builds a snapshot and publishes it
// unless a load that started later has already published one. It returns
// the snapshot in use afterwards.
func (m *Manager) load(ctx context.Context) (*snapshot, error) {
	seq := m.seq.Add(1)
	loadedAt := m.now()
	stored, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	s, err := m.build(stored)
	if err != nil {
		return nil, err
	}
	s.seq, s.loadedAt = seq, loadedAt
	return m.install(s), nil
}

// install publishes s if it is newer than the current snapshot and returns
// whichever snapshot is current afterwards.
func (m *Manager) install(s *snapshot) *snapshot {
	for {
		cur := m.snap.Load()
		if cur != nil && cur.seq >= s.seq {
			return cur
		}
		if m.snap.CompareAndSwap(cur, s) {
			return s
		}
	}
}

// build makes a snapshot of the stored keys: it checks every active and
// published key's public JWK, opens the private part of the active ones,
// and renders the JWKS.
func (m *Manager) build(stored []storage.SigningKey) (*snapshot, error) {
	// Newest first; the stable sort keeps the store's order among equals.
	stored = slices.Clone(stored)
	slices.SortStableFunc(stored, func(a, b storage.SigningKey) int {
		return b.CreatedAt.Compare(a.CreatedAt)
	})

	prev := m.snap.Load()
	s := &snapshot{
		public: make(map[string]publicKey, len(stored)),
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, sk := range stored {
		if sk.State != storage.KeyActive && sk.State != storage.KeyPublished {
			continue
		}
		if sk.Algorithm != RS256 && sk.Algorithm != ES256 {
			m.log.Warn("keys: ignoring a signing key of an unsupported algorithm",
				"kid", sk.ID, "alg", sk.Algorithm)
			continue
		}
		if _, dup := s.public[sk.ID]; dup {
			return nil, fmt.Errorf("signing key %s is stored twice", sk.ID)
		}
		jwk, err := parsePublic(sk)
		if err != nil {
			return nil, err
		}
		if sk.State == storage.KeyActive {
			if i := algIndex(sk.Algorithm); s.active[i].ID != "" {
				// The store keeps at most one; should it not, sign with
				// the newest and publish both.
				m.log.Warn("keys: more than one active key; signing with the newest",
					"alg", sk.Algorithm, "ignored_kid", sk.ID)
			} else {
				k, err := m.open(sk, jwk.Key, prev)
				if err != nil {
					return nil, err
				}
				s.active[algIndex(sk.Algorithm)] = k
			}
		}
		s.public[sk.ID] = publicKey{key: jwk.Key, alg: sk.Algorithm}
		set.Keys = append(set.Keys, jwk)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode jwks: %w", err)
	}
	s.jwks = jwks
	return s, nil
}

// parsePublic decodes the stored public JWK of sk and checks that it
// matches the row: a public key of the row's algorithm whose thumbprint is
// the kid. It returns the JWK as published: public part only, with kid, alg
// and use "sig".
func parsePublic(sk storage.SigningKey) (jose.JSONWebKey, error) {
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(sk.PublicJWK, &jwk); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s: decode public JWK: %w", sk.ID, err)
	}
	pub := jwk.Public() // drops private parameters, should any have been stored
	if !pub.Valid() {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s: invalid public JWK", sk.ID)
	}
	if err := checkPublic(sk.Algorithm, pub.Key); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	kid, err := thumbprint(pub.Key)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	if kid != sk.ID {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s: the public key's thumbprint is %s", sk.ID, kid)
	}
	return publicJWK(pub.Key, sk.ID, sk.Algorithm), nil
}

// open returns the private key of the active key sk, whose public key is
// pub. A key already opened by an earlier load is reused: its kid is the
// thumbprint of its public key, so the same kid means the same key.
func (m *Manager) open(sk storage.SigningKey, pub crypto.PublicKey, prev *snapshot) (Key, error) {
	if prev != nil {
		for _, k := range prev.active {
			if k.ID == sk.ID && k.Algorithm == sk.Algorithm {
				return k, nil
			}
		}
	}
	der, err := m.sealer.Open(sk.SealedPrivateKey, []byte(sk.ID))
	if errors.Is(err, secret.ErrDecrypt) {
		return Key{}, fmt.Errorf("signing key %s cannot be decrypted: the system secret (GATEHOUSE_SECRET) "+
			"does not match the one the keys were sealed with, or the stored key is corrupted: %w", sk.ID, err)
	}
	if err != nil {
		return Key{}, fmt.Errorf("signing key %s: open private key: %w", sk.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return Key{}, fmt.Errorf("signing key %s: decode private key: %w", sk.ID, err)
	}
	priv, err := checkPrivate(sk.Algorithm, parsed)
	if err != nil {
		return Key{}, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	if eq, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
		return Key{}, fmt.Errorf("signing key %s: the private key does not match the published public key", sk.ID)
	}
	return Key{ID: sk.ID, Algorithm: sk.Algorithm, Private: priv}, nil
}

// checkPrivate reports whether priv is a key of the kind alg signs with.
func checkPrivate(alg string, priv any) (crypto.Signer, error) {
	switch alg {
	case RS256:
		if k, ok := priv.(*rsa.PrivateKey); ok {
			return k, nil
		}
	case ES256:
		if k, ok := priv.(*ecdsa.PrivateKey); ok && k.Curve.Params().Name == "P-256" {
			return k, nil
		}
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	return nil, fmt.Errorf("a %T is not an %s private key", priv, alg)
}

// checkPublic reports whether pub is a key of the kind alg verifies with.
func checkPublic(alg string, pub any) error {
	switch alg {
	case RS256:
		if _, ok := pub.(*rsa.PublicKey); ok {
			return nil
		}
	case ES256:
		if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve.Params().Name == "P-256" {
			return nil
		}
	default:
		return fmt.Errorf("unsupported algorithm %q", alg)
	}
	return fmt.Errorf("a %T is not an %s public key", pub, alg)
}
