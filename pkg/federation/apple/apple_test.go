package apple_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/federation/apple"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
)

const callback = "https://id.example.com/login/apple/callback"

func open(t *testing.T, fake *federationtest.Fake) federation.Connector {
	t.Helper()
	conn, err := apple.Open(apple.Config{
		ClientID: "com.example.signin", TeamID: fake.AppleTeamID, KeyID: fake.AppleKeyID,
		PrivateKey: fake.ApplePrivateKeyPEM, CallbackURL: callback,
		HTTPClient: federation.NewHTTPClient(5*time.Second, federationtest.Transport(nil, fake)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestApple(t *testing.T) {
	ctx := context.Background()
	fake := federationtest.New(t, federationtest.Apple, "com.example.signin", "")
	conn := open(t, fake)
	a := federation.Auth{State: "state-0123456789", Nonce: "nonce-0123456789"}

	authURL, session, err := conn.Begin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if u.Host != "appleid.apple.com" || q.Get("response_mode") != "form_post" || q.Get("nonce") != a.Nonce ||
		q.Get("scope") != "name email" || strings.Contains(u.RawQuery, "+") {
		t.Fatalf("authorization URL %s", authURL)
	}
	if conn.AuthOrigin() != "https://appleid.apple.com" {
		t.Errorf("AuthOrigin = %q", conn.AuthOrigin())
	}

	// The fake posts code, state and, on a first consent, the name; it
	// checks the client secret JWT, and the connector the ID token.
	cb := fake.Consent(t, authURL)
	if cb.Get("state") != a.State || cb.Get("user") == "" {
		t.Fatalf("form_post fields %v", cb)
	}
	up, err := conn.Finish(ctx, a, session, cb)
	if err != nil {
		t.Fatal(err)
	}
	want := federation.UpstreamIdentity{
		Subject: "10769150350006150715113082367", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace",
	}
	if up != want {
		t.Errorf("identity:\n got %+v\nwant %+v", up, want)
	}

	for _, how := range []federationtest.Failure{federationtest.BadSignature, federationtest.WrongNonce, federationtest.Status500, federationtest.Malformed} {
		t.Run("an ID token with "+string(how)+" is refused", func(t *testing.T) {
			fake.Fail(federationtest.Token, how)
			defer fake.Fail(federationtest.Token, "")
			authURL, session, _ := conn.Begin(ctx, a)
			if up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL)); err == nil {
				t.Fatalf("accepted: %+v", up)
			}
		})
	}
}

func TestOpenRefusesABadKey(t *testing.T) {
	_, err := apple.Open(apple.Config{
		ClientID: "com.example.signin", TeamID: "T", KeyID: "K", PrivateKey: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----",
		CallbackURL: callback, HTTPClient: federation.NewHTTPClient(time.Second, nil),
	})
	if err == nil {
		t.Fatal("a key that cannot sign was accepted")
	}
}
