package oidc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/storage"
)

func sealedRequest(t *testing.T, exp time.Time) *fosite.AccessRequest {
	t.Helper()
	ar := fosite.NewAccessRequest(newSession())
	ar.ID = "01a250db-9a36-746b-8c1f-9b24df8b92df"
	ar.Client = &storage.Client{ID: "machine"}
	ar.RequestedAt = time.Now().UTC()
	ar.GrantTypes = fosite.Arguments{"client_credentials"}
	ar.GrantScope("api:read")
	ar.GrantAudience("https://api.example.com")
	ar.GetSession().SetExpiresAt(fosite.AccessToken, exp)
	return ar
}

func TestSealedAccessTokens(t *testing.T) {
	sealer, err := newSealedAccessTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UTC()
	ar := sealedRequest(t, exp)
	token, key, err := sealer.generate(ar)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the token is opaque: prefixed, one part, no readable claim", func(t *testing.T) {
		if !isSealedToken(token) || isJWT(token) {
			t.Fatalf("%q is not told apart as sealed", token)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, prefix("at")))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"machine", "api:read", "api.example.com", ar.ID} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("the token shows %q", s)
			}
		}
		if sealedStorageKey(token) != key {
			t.Errorf("storage key %q, generate said %q", sealedStorageKey(token), key)
		}
	})
	t.Run("it opens to the request's claims", func(t *testing.T) {
		c, err := sealer.open(key)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != ar.ID || c.ClientID != "machine" || len(c.Scopes) != 1 || c.Scopes[0] != "api:read" ||
			len(c.Audience) != 1 || c.Expires != exp.UnixMilli() || c.IssuedAt != ar.RequestedAt.UnixMilli() {
			t.Fatalf("claims %+v", c)
		}
	})
	t.Run("two tokens of one request differ (fresh nonces)", func(t *testing.T) {
		again, _, err := sealer.generate(ar)
		if err != nil || again == token {
			t.Fatalf("same token twice (%v)", err)
		}
	})
	t.Run("a changed byte, a cut token, another key or version do not open", func(t *testing.T) {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, sealedKeyPrefix))
		for i := range raw {
			bad := bytes.Clone(raw)
			bad[i] ^= 0x01
			if _, err := sealer.open(sealedKeyPrefix + base64.RawURLEncoding.EncodeToString(bad)); !errors.Is(err, errSealedInvalid) {
				t.Fatalf("byte %d changed: %v", i, err)
			}
		}
		if _, err := sealer.open(key[:len(key)-4]); !errors.Is(err, errSealedInvalid) {
			t.Error("a cut token opened")
		}
		other, _ := newSealedAccessTokens(bytes.Repeat([]byte{8}, 32))
		if _, err := other.open(key); !errors.Is(err, errSealedInvalid) {
			t.Error("another key opened the token")
		}
		if _, err := sealer.open("sealed:"); !errors.Is(err, errSealedInvalid) {
			t.Error("an empty body opened")
		}
	})
	t.Run("an expired token fails the strategy's check", func(t *testing.T) {
		strategy := &tokenStrategy{sealed: sealer}
		old, _, err := sealer.generate(sealedRequest(t, time.Now().Add(-time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := sealer.open(sealedStorageKey(old))
		sess := newSession()
		sess.SetExpiresAt(fosite.AccessToken, time.UnixMilli(c.Expires))
		req := fosite.NewRequest()
		req.Session = sess
		if err := strategy.ValidateAccessToken(t.Context(), req, old); !errors.Is(err, fosite.ErrTokenExpired) {
			t.Errorf("expired: %v", err)
		}
		sess.SetExpiresAt(fosite.AccessToken, exp)
		if err := strategy.ValidateAccessToken(t.Context(), req, token); err != nil {
			t.Errorf("live: %v", err)
		}
	})
	t.Run("the revocation's request ID carries the id, client and expiry", func(t *testing.T) {
		c, _ := sealer.open(key)
		got, ok := parseSealedRequestID(sealedRequestID(c))
		if !ok || got.ID != ar.ID || got.ClientID != "machine" || got.Expires != exp.UnixMilli() {
			t.Fatalf("parsed %+v %v", got, ok)
		}
		for _, bad := range []string{ar.ID, "sealed:", "sealed:1:x", "sealed:1::c", "sealed:x:y:c", "sealed:1:x:"} {
			if _, ok := parseSealedRequestID(bad); ok {
				t.Errorf("%q parsed as a sealed request ID", bad)
			}
		}
	})
	t.Run("stored tokens, refresh tokens and codes are not taken for sealed ones", func(t *testing.T) {
		for _, tok := range []string{"gate_at_AaJQ0DozjBx2yHfPqWsuwYBffOf-1rnwUb1WfpbtmNxL6wVkIHg.wBy8pYdaXp-5U1R9XwswndphA7-llIq72XA0RvGskJ8",
			"gate_rt_" + strings.TrimPrefix(token, prefix("at")), "gate_ac_" + strings.TrimPrefix(token, prefix("at")), "gate_at_", "eyJhbGciOiJSUzI1NiJ9.e30.sig"} {
			if isSealedToken(tok) {
				t.Errorf("%.30s… is taken for a sealed token", tok)
			}
		}
	})
}
