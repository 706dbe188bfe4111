package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
	"github.com/gatehouse-id/gatehouse/pkg/federation/oidc"
)

const callback = "https://id.example.com/login/oidc/callback"

func TestOpenIDProvider(t *testing.T) {
	ctx := context.Background()
	fake := federationtest.New(t, federationtest.OIDC, "rp", "rp-secret")
	conn, err := oidc.Open(oidc.Config{
		Issuer: fake.Issuer(), ClientID: "rp", ClientSecret: "rp-secret", CallbackURL: callback,
		// Discovery and the JWKS go through this client too: without it the
		// fake's certificate would not be trusted.
		HTTPClient: federation.NewHTTPClient(5*time.Second, federationtest.Transport(nil, fake)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if conn.AuthOrigin() != fake.Issuer() {
		t.Errorf("AuthOrigin before discovery = %q, want the issuer's", conn.AuthOrigin())
	}
	a := federation.Auth{State: "state-0123456789", Nonce: "nonce-0123456789", CodeVerifier: oauth2.GenerateVerifier()}
	authURL, session, err := conn.Begin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	sum := sha256.Sum256([]byte(a.CodeVerifier))
	if got := u.Query(); got.Get("nonce") != a.Nonce || got.Get("code_challenge_method") != "S256" ||
		got.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) || got.Get("scope") != "openid email profile" {
		t.Fatalf("authorization URL %s", authURL)
	}
	up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL))
	if err != nil {
		t.Fatal(err)
	}
	want := federation.UpstreamIdentity{
		Subject: "10769150350006150715113082367", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", Picture: "https://pictures.example/ada.png", Locale: "en-GB",
	}
	if up != want {
		t.Errorf("identity:\n got %+v\nwant %+v", up, want)
	}

	t.Run("the PKCE verifier must match", func(t *testing.T) {
		authURL, session, _ := conn.Begin(ctx, a)
		other := a
		other.CodeVerifier = oauth2.GenerateVerifier()
		if up, err := conn.Finish(ctx, other, session, fake.Consent(t, authURL)); err == nil {
			t.Fatalf("accepted: %+v", up)
		}
	})
	for _, tc := range []struct {
		name string
		e    federationtest.Endpoint
		how  federationtest.Failure
	}{
		{"an ID token signed with an unpublished key", federationtest.Token, federationtest.BadSignature},
		{"an ID token for another request (nonce)", federationtest.Token, federationtest.WrongNonce},
		{"a token endpoint 500", federationtest.Token, federationtest.Status500},
		{"a malformed userinfo answer", federationtest.Profile, federationtest.Malformed},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			fake.Fail(tc.e, tc.how)
			defer fake.Fail(tc.e, "")
			authURL, session, _ := conn.Begin(ctx, a)
			if up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL)); err == nil {
				t.Fatalf("accepted: %+v", up)
			}
		})
	}
}

func TestDiscoveryIsTriedAgainAfterAFailure(t *testing.T) {
	ctx := context.Background()
	fake := federationtest.New(t, federationtest.OIDC, "rp", "rp-secret")
	// Without the fake's transport its certificate is not trusted: the
	// first discovery fails, and the connector still opens.
	transport := &switchable{}
	conn, err := oidc.Open(oidc.Config{
		Issuer: fake.Issuer(), ClientID: "rp", ClientSecret: "rp-secret", CallbackURL: callback,
		HTTPClient: federation.NewHTTPClient(5*time.Second, transport),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Begin(ctx, federation.Auth{State: "state-0123456789"}); err == nil {
		t.Fatal("discovery through an untrusting client succeeded")
	}
	transport.use(federationtest.Transport(nil, fake))
	if _, _, err := conn.Begin(ctx, federation.Auth{State: "state-0123456789"}); err != nil {
		t.Fatalf("discovery was not tried again: %v", err)
	}
}
