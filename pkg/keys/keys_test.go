package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite/token/jwt"

	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

const interval = 30 * time.Second

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func sealer(t testing.TB, system string) *secret.Keys {
	t.Helper()
	k, err := secret.Derive([]byte(system))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const systemSecret = "correct horse battery staple, and then some more"

func newManager(t testing.TB, store Store, clk *fakeClock) *Manager {
	t.Helper()
	return newManagerWith(t, store, sealer(t, systemSecret), clk)
}

func newManagerWith(t testing.TB, store Store, s *secret.Keys, clk *fakeClock) *Manager {
	t.Helper()
	return NewManager(store, s, Options{
		RefreshInterval: interval,
		Now:             clk.Now,
		Logger:          slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
}

// ensured returns a manager whose store holds one active key per algorithm.
func ensured(t *testing.T) (*Manager, *memStore, *fakeClock) {
	t.Helper()
	store, clk := &memStore{}, newClock()
	m := newManager(t, store, clk)
	if err := m.EnsureKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m, store, clk
}

// activeByAlg returns the kid of the active key of each algorithm in the
// store, failing if an algorithm has more than one.
func activeByAlg(t *testing.T, store storage.SigningKeyStore) map[string]string {
	t.Helper()
	stored, err := store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range stored {
		if k.State != storage.KeyActive {
			continue
		}
		if prev, ok := out[k.Algorithm]; ok {
			t.Fatalf("two active %s keys: %s and %s", k.Algorithm, prev, k.ID)
		}
		out[k.Algorithm] = k.ID
	}
	return out
}

// jwksMembers fetches the JWKS and returns its keys as raw JSON objects.
func jwksMembers(t *testing.T, m *Manager) []map[string]any {
	t.Helper()
	raw, err := m.JWKS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, raw)
	}
	return doc.Keys
}

func jwksKids(t *testing.T, m *Manager) []string {
	t.Helper()
	var kids []string
	for _, k := range jwksMembers(t, m) {
		kid, _ := k["kid"].(string)
		kids = append(kids, kid)
	}
	return kids
}

func TestEnsureKeys(t *testing.T) {
	t.Run("creates one active RS256 and one active ES256 key", func(t *testing.T) {
		m, store, _ := ensured(t)
		all, err := m.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 {
			t.Fatalf("%d keys stored, want 2", len(all))
		}
		active := activeByAlg(t, store)
		for _, alg := range []string{RS256, ES256} {
			kid, ok := active[alg]
			if !ok {
				t.Fatalf("no active %s key", alg)
			}
			k, err := m.Active(t.Context(), alg)
			if err != nil {
				t.Fatal(err)
			}
			if k.ID != kid || k.Algorithm != alg {
				t.Errorf("Active(%s) = %s/%s, want %s/%s", alg, k.ID, k.Algorithm, kid, alg)
			}
		}
		rk, _ := m.Active(t.Context(), RS256)
		if priv, ok := rk.Private.(*rsa.PrivateKey); !ok || priv.N.BitLen() != 2048 {
			t.Errorf("RS256 key is %T, want a 2048-bit *rsa.PrivateKey", rk.Private)
		}
		ek, _ := m.Active(t.Context(), ES256)
		if priv, ok := ek.Private.(*ecdsa.PrivateKey); !ok || priv.Curve.Params().Name != "P-256" {
			t.Errorf("ES256 key is %T, want a P-256 *ecdsa.PrivateKey", ek.Private)
		}
	})

	t.Run("is idempotent", func(t *testing.T) {
		m, store, _ := ensured(t)
		before := activeByAlg(t, store)
		if err := m.EnsureKeys(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := newManager(t, store, newClock()).EnsureKeys(t.Context()); err != nil {
			t.Fatal(err)
		}
		all, _ := store.ListSigningKeys(t.Context())
		if len(all) != 2 {
			t.Errorf("%d keys stored after EnsureKeys ran three times, want 2", len(all))
		}
		if after := activeByAlg(t, store); after[RS256] != before[RS256] || after[ES256] != before[ES256] {
			t.Errorf("active keys changed: %v -> %v", before, after)
		}
	})

	t.Run("concurrent first starts leave exactly one active key per algorithm", func(t *testing.T) {
		store := &memStore{}
		// Hold both managers' first ListSigningKeys until both have read,
		// so both see an empty store and race to create every key.
		var (
			mu      sync.Mutex
			arrived int
			both    = make(chan struct{})
		)
		store.beforeList = func() {
			mu.Lock()
			arrived++
			n := arrived
			mu.Unlock()
			if n == 2 {
				close(both)
			}
			if n <= 2 {
				<-both
			}
		}
		managers := []*Manager{newManager(t, store, newClock()), newManager(t, store, newClock())}
		errs := make([]error, len(managers))
		var wg sync.WaitGroup
		for i, m := range managers {
			wg.Go(func() { errs[i] = m.EnsureKeys(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("EnsureKeys of manager %d: %v", i, err)
			}
		}
		all, _ := store.ListSigningKeys(t.Context())
		if len(all) != 2 {
			t.Errorf("%d keys stored, want 2 (the losers' keys must not be stored)", len(all))
		}
		active := activeByAlg(t, store)
		for _, alg := range []string{RS256, ES256} {
			for i, m := range managers {
				k, err := m.Active(t.Context(), alg)
				if err != nil {
					t.Fatal(err)
				}
				if k.ID != active[alg] {
					t.Errorf("manager %d signs %s with %s, the store's active key is %s", i, alg, k.ID, active[alg])
				}
			}
		}
	})
}

func TestJWKS(t *testing.T) {
	m, _, _ := ensured(t)

	t.Run("every key has kty, kid, alg and use sig and no private member", func(t *testing.T) {
		members := jwksMembers(t, m)
		if len(members) != 2 {
			t.Fatalf("%d keys in the JWKS, want 2", len(members))
		}
		algs := map[string]bool{}
		for _, k := range members {
			for _, name := range []string{"kty", "kid", "alg"} {
				if s, _ := k[name].(string); s == "" {
					t.Errorf("key %v has no %q", k, name)
				}
			}
			if k["use"] != "sig" {
				t.Errorf("key %v: use = %v, want sig", k["kid"], k["use"])
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Errorf("key %v publishes the private member %q", k["kid"], private)
				}
			}
			alg, _ := k["alg"].(string)
			algs[alg] = true
			switch alg {
			case RS256:
				if k["kty"] != "RSA" || k["n"] == nil || k["e"] == nil {
					t.Errorf("RS256 key %v lacks kty RSA, n or e", k)
				}
			case ES256:
				if k["kty"] != "EC" || k["crv"] != "P-256" || k["x"] == nil || k["y"] == nil {
					t.Errorf("ES256 key %v lacks kty EC, crv P-256, x or y", k)
				}
			default:
				t.Errorf("unexpected alg %q", alg)
			}
		}
		if !algs[RS256] || !algs[ES256] {
			t.Errorf("JWKS algorithms = %v, want RS256 and ES256", algs)
		}
	})

	t.Run("kid is the RFC 7638 SHA-256 thumbprint of the public key", func(t *testing.T) {
		raw, _ := m.JWKS(t.Context())
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil {
			t.Fatal(err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				t.Errorf("key %s is not public", k.KeyID)
			}
			tp, err := k.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := b64(tp); k.KeyID != want {
				t.Errorf("kid = %s, thumbprint = %s", k.KeyID, want)
			}
		}
	})

	t.Run("the caller cannot change the cached document", func(t *testing.T) {
		a, _ := m.JWKS(t.Context())
		want := bytes.Clone(a)
		clear(a)
		if b, _ := m.JWKS(t.Context()); !bytes.Equal(b, want) {
			t.Error("changing a returned JWKS changed the next one")
		}
	})
}

func TestRotateAndRetire(t *testing.T) {
	t.Run("after rotation the new key signs and the old key stays in the JWKS", func(t *testing.T) {
		m, store, _ := ensured(t)
		old, _ := m.Active(t.Context(), RS256)
		otherAlg, _ := m.Active(t.Context(), ES256)
		rotated, err := m.Rotate(t.Context(), RS256)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.ID == old.ID || rotated.Algorithm != RS256 || rotated.State != storage.KeyActive {
			t.Errorf("Rotate returned %+v", rotated)
		}
		if len(rotated.SealedPrivateKey) != 0 {
			t.Error("Rotate returned private material")
		}
		now, err := m.Active(t.Context(), RS256)
		if err != nil {
			t.Fatal(err)
		}
		if now.ID != rotated.ID {
			t.Errorf("Active = %s, want the new key %s", now.ID, rotated.ID)
		}
		if k, _ := m.Active(t.Context(), ES256); k.ID != otherAlg.ID {
			t.Error("rotating RS256 changed the ES256 key")
		}
		kids := jwksKids(t, m)
		if len(kids) != 3 || kids[0] != rotated.ID || !slices.Contains(kids, old.ID) {
			t.Errorf("JWKS kids = %v, want the new key %s first and the old key %s kept", kids, rotated.ID, old.ID)
		}
		if _, alg, ok := m.VerificationKey(t.Context(), old.ID); !ok || alg != RS256 {
			t.Error("the old key no longer verifies")
		}
		stored := map[string]storage.SigningKey{}
		all, _ := store.ListSigningKeys(t.Context())
		for _, k := range all {
			stored[k.ID] = k
		}
		if stored[old.ID].State != storage.KeyPublished {
			t.Errorf("old key state = %s, want published", stored[old.ID].State)
		}
	})

	t.Run("retiring a published key removes it from the JWKS and from verification", func(t *testing.T) {
		m, _, _ := ensured(t)
		old, _ := m.Active(t.Context(), ES256)
		if _, err := m.Rotate(t.Context(), ES256); err != nil {
			t.Fatal(err)
		}
		if err := m.Retire(t.Context(), old.ID); err != nil {
			t.Fatal(err)
		}
		if kids := jwksKids(t, m); slices.Contains(kids, old.ID) || len(kids) != 2 {
			t.Errorf("JWKS kids = %v after retiring %s", kids, old.ID)
		}
		if _, _, ok := m.VerificationKey(t.Context(), old.ID); ok {
			t.Error("a retired key still verifies")
		}
		all, _ := m.List(t.Context())
		var found bool
		for _, k := range all {
			if k.ID == old.ID {
				found = true
				if k.State != storage.KeyRetired {
					t.Errorf("state = %s, want retired", k.State)
				}
			}
		}
		if !found {
			t.Error("List no longer shows the retired key")
		}
	})

	t.Run("retiring the active key fails with ErrKeyInUse", func(t *testing.T) {
		m, _, _ := ensured(t)
		active, _ := m.Active(t.Context(), RS256)
		if err := m.Retire(t.Context(), active.ID); !errors.Is(err, storage.ErrKeyInUse) {
			t.Fatalf("Retire(active) = %v, want ErrKeyInUse", err)
		}
		if !slices.Contains(jwksKids(t, m), active.ID) {
			t.Error("the active key left the JWKS")
		}
	})

	t.Run("retiring an unknown kid fails with ErrNotFound", func(t *testing.T) {
		m, _, _ := ensured(t)
		if err := m.Retire(t.Context(), "no-such-kid"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Retire(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("rotating an unsupported algorithm fails and stores nothing", func(t *testing.T) {
		m, store, _ := ensured(t)
		if _, err := m.Rotate(t.Context(), "HS256"); err == nil {
			t.Fatal("Rotate(HS256) succeeded")
		}
		if all, _ := store.ListSigningKeys(t.Context()); len(all) != 2 {
			t.Errorf("%d keys stored, want 2", len(all))
		}
	})

	t.Run("List never returns private material", func(t *testing.T) {
		m, _, _ := ensured(t)
		all, err := m.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range all {
			if len(k.SealedPrivateKey) != 0 {
				t.Errorf("key %s listed with its sealed private key", k.ID)
			}
			if len(k.PublicJWK) == 0 {
				t.Errorf("key %s listed without its public JWK", k.ID)
			}
		}
	})
}

func TestReplicas(t *testing.T) {
	t.Run("a second manager sees a rotation by the first after RefreshInterval", func(t *testing.T) {
		a, store, _ := ensured(t)
		clk := newClock()
		b := newManager(t, store, clk)
		before, err := b.Active(t.Context(), RS256)
		if err != nil {
			t.Fatal(err)
		}
		rotated, err := a.Rotate(t.Context(), RS256)
		if err != nil {
			t.Fatal(err)
		}

		clk.Advance(interval - time.Second)
		if k, _ := b.Active(t.Context(), RS256); k.ID != before.ID {
			t.Fatalf("b switched to %s before its cache went stale", k.ID)
		}
		clk.Advance(time.Second)
		k, err := b.Active(t.Context(), RS256)
		if err != nil {
			t.Fatal(err)
		}
		if k.ID != rotated.ID {
			t.Errorf("b signs with %s after RefreshInterval, want %s", k.ID, rotated.ID)
		}
		if kids := jwksKids(t, b); !slices.Contains(kids, rotated.ID) || !slices.Contains(kids, before.ID) {
			t.Errorf("b's JWKS kids = %v, want %s and %s", kids, rotated.ID, before.ID)
		}
	})

	t.Run("concurrent callers of a stale cache share one reload", func(t *testing.T) {
		_, store, _ := ensured(t)
		clk := newClock()
		m := newManager(t, store, clk)
		if err := m.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(interval)
		release := make(chan struct{})
		store.mu.Lock()
		store.beforeList = func() { <-release }
		store.mu.Unlock()
		start := store.listCalls()

		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if _, err := m.Active(t.Context(), ES256); err != nil {
					t.Error(err)
				}
			})
		}
		time.Sleep(20 * time.Millisecond) // let the callers pile up behind the reload
		close(release)
		wg.Wait()
		if n := store.listCalls() - start; n != 1 {
			t.Errorf("%d reloads for 16 concurrent callers, want 1", n)
		}
	})

	t.Run("a failing store keeps the last good set and is retried after RefreshInterval", func(t *testing.T) {
		m, store, clk := ensured(t)
		good, _ := m.Active(t.Context(), RS256)
		store.setListErr(errors.New("database is down"))
		clk.Advance(interval)
		start := store.listCalls()
		for range 3 {
			k, err := m.Active(t.Context(), RS256)
			if err != nil || k.ID != good.ID {
				t.Fatalf("Active = %s, %v; want the last good key %s", k.ID, err, good.ID)
			}
		}
		if n := store.listCalls() - start; n != 1 {
			t.Errorf("%d reload attempts within one interval, want 1", n)
		}
		if err := m.Refresh(t.Context()); err == nil {
			t.Error("Refresh succeeded with a failing store")
		}
		store.setListErr(nil)
		clk.Advance(interval)
		if _, err := m.Active(t.Context(), RS256); err != nil {
			t.Fatal(err)
		}
		if n := store.listCalls() - start; n < 3 {
			t.Errorf("the store was not read again once it recovered")
		}
	})

	t.Run("a manager with another system secret fails to load with a clear error", func(t *testing.T) {
		_, store, _ := ensured(t)
		other := newManagerWith(t, store, sealer(t, "another system secret, also long enough"), newClock())
		err := other.Refresh(t.Context())
		if err == nil {
			t.Fatal("Refresh succeeded under the wrong system secret")
		}
		if !errors.Is(err, secret.ErrDecrypt) {
			t.Errorf("error %v does not match secret.ErrDecrypt", err)
		}
		if !strings.Contains(err.Error(), "system secret") || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("error %q does not say the system secret does not match", err)
		}
		if err := other.EnsureKeys(t.Context()); !errors.Is(err, secret.ErrDecrypt) {
			t.Errorf("EnsureKeys = %v, want a decryption error", err)
		}
		if _, err := other.Active(t.Context(), RS256); !errors.Is(err, secret.ErrDecrypt) {
			t.Errorf("Active = %v, want a decryption error", err)
		}
		if _, err := other.JWKS(t.Context()); err == nil {
			t.Error("JWKS succeeded under the wrong system secret")
		}
	})

	t.Run("a sealed key moved to another kid does not open", func(t *testing.T) {
		m, store, _ := ensured(t)
		_, _ = m.Rotate(t.Context(), RS256)
		store.mu.Lock()
		// Swap the sealed private parts of the two RS256 keys.
		var rs []int
		for i, k := range store.keys {
			if k.Algorithm == RS256 {
				rs = append(rs, i)
			}
		}
		a, b := store.keys[rs[0]], store.keys[rs[1]]
		store.keys[rs[0]].SealedPrivateKey, store.keys[rs[1]].SealedPrivateKey = b.SealedPrivateKey, a.SealedPrivateKey
		store.mu.Unlock()
		fresh := newManager(t, store, newClock())
		if err := fresh.Refresh(t.Context()); !errors.Is(err, secret.ErrDecrypt) {
			t.Errorf("Refresh = %v, want a decryption error", err)
		}
	})
}

func TestFositeSigner(t *testing.T) {
	m, _, _ := ensured(t)
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg+" JWT from fosite's DefaultSigner carries the kid and verifies with the JWKS", func(t *testing.T) {
			signer := &jwt.DefaultSigner{GetPrivateKey: func(ctx context.Context) (any, error) {
				k, err := m.Active(ctx, alg)
				if err != nil {
					return nil, err
				}
				return k.JOSE(), nil
			}}
			token, _, err := signer.Generate(t.Context(), jwt.MapClaims{"sub": "alice"}, &jwt.Headers{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := signer.Validate(t.Context(), token); err != nil {
				t.Errorf("fosite does not validate its own token: %v", err)
			}

			jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			active, _ := m.Active(t.Context(), alg)
			h := jws.Signatures[0].Header
			if h.KeyID != active.ID || h.Algorithm != alg {
				t.Fatalf("header kid=%q alg=%q, want kid=%q alg=%q", h.KeyID, h.Algorithm, active.ID, alg)
			}

			raw, _ := m.JWKS(t.Context())
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(raw, &set); err != nil {
				t.Fatal(err)
			}
			found := set.Key(h.KeyID)
			if len(found) != 1 {
				t.Fatalf("%d JWKS keys with kid %s, want 1", len(found), h.KeyID)
			}
			payload, err := jws.Verify(found[0])
			if err != nil {
				t.Fatalf("signature does not verify with the JWKS key: %v", err)
			}
			var claims map[string]any
			if err := json.Unmarshal(payload, &claims); err != nil || claims["sub"] != "alice" {
				t.Errorf("payload = %s", payload)
			}

			pub, palg, ok := m.VerificationKey(t.Context(), h.KeyID)
			if !ok || palg != alg {
				t.Fatalf("VerificationKey(%s) = %v, %q, %v", h.KeyID, pub, palg, ok)
			}
			if _, err := jws.Verify(pub); err != nil {
				t.Errorf("signature does not verify with VerificationKey: %v", err)
			}
		})
	}
}

func TestRun(t *testing.T) {
	t.Run("Run reloads every RefreshInterval and stops with its context", func(t *testing.T) {
		a, store, _ := ensured(t)
		// b's fake clock never moves, so only Run can make b reload.
		b := NewManager(store, sealer(t, systemSecret), Options{
			RefreshInterval: 10 * time.Millisecond,
			Now:             newClock().Now,
			Logger:          slog.New(slog.NewTextHandler(t.Output(), nil)),
		})
		if err := b.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			b.Run(ctx)
		}()
		rotated, err := a.Rotate(t.Context(), ES256)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			k, err := b.Active(t.Context(), ES256)
			if err != nil {
				t.Fatal(err)
			}
			if k.ID == rotated.ID {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("Run did not pick up the rotation")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	})
}

func TestActiveHotPath(t *testing.T) {
	t.Run("an unsupported algorithm is an error", func(t *testing.T) {
		m, _, _ := ensured(t)
		if _, err := m.Active(t.Context(), "HS256"); err == nil {
			t.Error("Active(HS256) succeeded")
		}
	})

	t.Run("a fresh cache is read without allocating", func(t *testing.T) {
		m, _, _ := ensured(t)
		ctx := t.Context()
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := m.Active(ctx, RS256); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Active allocates %.1f times per call, want 0", allocs)
		}
	})
}

func BenchmarkActive(b *testing.B) {
	m := benchManager(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Active(ctx, RS256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkActiveParallel(b *testing.B) {
	m := benchManager(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Active(ctx, RS256); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchManager returns a loaded manager on the real clock.
func benchManager(b *testing.B) *Manager {
	b.Helper()
	m := NewManager(&memStore{}, sealer(b, systemSecret), Options{})
	if err := m.EnsureKeys(b.Context()); err != nil {
		b.Fatal(err)
	}
	return m
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
