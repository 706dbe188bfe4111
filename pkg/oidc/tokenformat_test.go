package oidc

import (
	"context"
	"crypto/sha512"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/hmac"
)

func TestTimeOrderedTokens(t *testing.T) {
	cfg := &fosite.Config{GlobalSecret: []byte("0123456789abcdef0123456789abcdef"), HMACHasher: sha512.New512_256}
	tokens := &timeOrderedTokens{secret: cfg.GlobalSecret, hasher: cfg.HMACHasher}
	enigma := &hmac.HMACStrategy{Config: cfg}
	now := time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC)

	first, firstKey, err := tokens.generate(now)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fosite's own HMAC check accepts the token", func(t *testing.T) {
		if err := enigma.Validate(context.Background(), first); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a token with a changed byte fails fosite's check", func(t *testing.T) {
		bad := []byte(first)
		if bad[10] == 'A' {
			bad[10] = 'B'
		} else {
			bad[10] = 'A'
		}
		if err := enigma.Validate(context.Background(), string(bad)); err == nil {
			t.Fatal("a forged token validated")
		}
	})
	t.Run("the storage key is derived from the token alone", func(t *testing.T) {
		if got := tokens.storageKey(first); got != firstKey {
			t.Fatalf("storageKey = %q, generate said %q", got, firstKey)
		}
	})
	t.Run("the storage key holds the HMAC, not the token's key", func(t *testing.T) {
		key, sig, _ := strings.Cut(first, ".")
		if !strings.HasSuffix(firstKey, sig) || strings.Contains(firstKey, key[timePrefixChars:]) {
			t.Fatalf("storage key %q reveals the token key", firstKey)
		}
	})
	t.Run("later tokens sort after earlier ones", func(t *testing.T) {
		prev := firstKey
		for i := 1; i <= 50; i++ {
			tok, k, err := tokens.generate(now.Add(time.Duration(i) * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			// Every token validates, whichever pooled HMAC made it.
			if err := enigma.Validate(context.Background(), tok); err != nil {
				t.Fatalf("token %d: %v", i, err)
			}
			if k <= prev {
				t.Fatalf("key %d %q does not sort after %q", i, k, prev)
			}
			prev = k
		}
	})
	t.Run("malformed tokens have no storage key", func(t *testing.T) {
		for _, bad := range []string{"", "abc", "short.sig", "!!!!!!!!xyz.sig", "abcdefghijk."} {
			if got := tokens.storageKey(bad); got != "" {
				t.Errorf("storageKey(%q) = %q", bad, got)
			}
		}
	})
}
