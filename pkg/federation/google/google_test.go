package google_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
	"github.com/gatehouse-id/gatehouse/pkg/federation/google"
)

const callback = "https://id.example.com/login/google/callback"

func open(t *testing.T, fake *federationtest.Fake) federation.Connector {
	t.Helper()
	conn, err := google.Open(google.Config{
		ClientID: "google-client", ClientSecret: "google-secret", CallbackURL: callback,
		HTTPClient: federation.NewHTTPClient(5*time.Second, federationtest.Transport(nil, fake)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestGoogle(t *testing.T) {
	ctx := context.Background()
	fake := federationtest.New(t, federationtest.Google, "google-client", "google-secret")
	conn := open(t, fake)
	a := federation.Auth{State: "state-0123456789", Nonce: "nonce", CodeVerifier: strings.Repeat("v", 43)}

	authURL, session, err := conn.Begin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if u.Host != "accounts.google.com" || q.Get("state") != a.State || q.Get("redirect_uri") != callback ||
		q.Get("scope") != "openid email profile" || q.Get("client_id") != "google-client" {
		t.Fatalf("authorization URL %s", authURL)
	}
	if conn.AuthOrigin() != "https://accounts.google.com" {
		t.Errorf("AuthOrigin = %q", conn.AuthOrigin())
	}
	if strings.Contains(session, "google-secret") {
		t.Error("the stored session holds the client secret")
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

	t.Run("an unverified address is reported unverified", func(t *testing.T) {
		fake.SetAccount(federationtest.Account{ID: "2", Email: "new@example.com"})
		defer fake.SetAccount(federationtest.Account{ID: "10769150350006150715113082367", Email: "ada@example.com", EmailVerified: true})
		authURL, session, _ := conn.Begin(ctx, a)
		up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL))
		if err != nil || up.EmailVerified || up.Subject != "2" {
			t.Fatalf("%+v, %v", up, err)
		}
	})
	t.Run("a code is exchanged once", func(t *testing.T) {
		authURL, session, _ := conn.Begin(ctx, a)
		cb := fake.Consent(t, authURL)
		if _, err := conn.Finish(ctx, a, session, cb); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Finish(ctx, a, session, cb); err == nil {
			t.Fatal("a used code was exchanged again")
		}
	})
	for _, tc := range []struct {
		name string
		e    federationtest.Endpoint
		how  federationtest.Failure
	}{
		{"token endpoint 500", federationtest.Token, federationtest.Status500},
		{"malformed token answer", federationtest.Token, federationtest.Malformed},
		{"userinfo 500", federationtest.Profile, federationtest.Status500},
		{"malformed userinfo", federationtest.Profile, federationtest.Malformed},
	} {
		t.Run(tc.name+" is an error, not a panic", func(t *testing.T) {
			fake.Fail(tc.e, tc.how)
			defer fake.Fail(tc.e, "")
			authURL, session, _ := conn.Begin(ctx, a)
			up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL))
			if err == nil {
				t.Fatalf("got %+v", up)
			}
			if msg := federation.Redact(err); strings.Contains(msg, "access_token=") && !strings.Contains(msg, "access_token=REDACTED") {
				t.Errorf("the error shows a token: %s", msg)
			}
		})
	}
}

func TestOpenRefusesMissingSettings(t *testing.T) {
	client := federation.NewHTTPClient(time.Second, nil)
	for _, c := range []google.Config{
		{ClientSecret: "s", CallbackURL: callback, HTTPClient: client},
		{ClientID: "c", CallbackURL: callback, HTTPClient: client},
		{ClientID: "c", ClientSecret: "s", HTTPClient: client},
		{ClientID: "c", ClientSecret: "s", CallbackURL: callback},
	} {
		if _, err := google.Open(c); err == nil {
			t.Errorf("Open(%+v) accepted", c)
		}
	}
}
