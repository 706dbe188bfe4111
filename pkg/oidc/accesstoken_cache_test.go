package oidc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-id/gatehouse/pkg/keys"
)

// oneKey is a KeySource of one RSA key that can be withdrawn.
type oneKey struct {
	key       keys.Key
	withdrawn bool
}

func (o *oneKey) JWKS(context.Context) ([]byte, error) { return []byte(`{"keys":[]}`), nil }

func (o *oneKey) Active(context.Context, string) (keys.Key, error) { return o.key, nil }

func (o *oneKey) VerificationKey(_ context.Context, kid string) (crypto.PublicKey, string, bool) {
	if o.withdrawn || kid != o.key.ID {
		return nil, "", false
	}
	return o.key.Private.Public(), keys.RS256, true
}

// TestVerifiedJWTCache checks that a JWT access token verified once is
// taken from the cache after, and that the cache never outlives the
// token's expiry or its key's publication.
func TestVerifiedJWTCache(t *testing.T) {
	ctx := context.Background()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	src := &oneKey{key: keys.Key{ID: "k1", Algorithm: keys.RS256, Private: priv}}
	cache, _ := lru.New[[sha256.Size]byte, verifiedJWT](8)
	j := &jwtAccessTokens{issuer: "https://id.example", keys: src, verified: cache}
	now := time.Now()
	token, err := signClaims(ctx, src, map[string]any{"iss": "https://id.example", "jti": "j1", "exp": now.Add(time.Minute).Unix()}, jwtAccessTokenType)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c, err := j.verify(ctx, token, now)
		if err != nil || c.ID != "j1" {
			t.Fatalf("verification %d: %+v, %v", i+1, c, err)
		}
	}
	if cache.Len() != 1 {
		t.Fatalf("%d cached, want 1", cache.Len())
	}
	// A token changed by one character is not the cached one.
	forged := token[:len(token)-2] + "AA"
	if _, err := j.verify(ctx, forged, now); !errors.Is(err, errNotOurJWT) {
		t.Errorf("a forged token: %v", err)
	}
	if _, err := j.verify(ctx, token, now.Add(2*time.Minute)); !errors.Is(err, errNotOurJWT) {
		t.Errorf("after its expiry, from the cache: %v", err)
	}
	src.withdrawn = true
	if _, err := j.verify(ctx, token, now); !errors.Is(err, errNotOurJWT) {
		t.Errorf("after its key was withdrawn, from the cache: %v", err)
	}
	if cache.Len() != 0 {
		t.Errorf("the withdrawn key's token is still cached")
	}
}
