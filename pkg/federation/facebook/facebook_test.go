package facebook_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/federation/facebook"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
)

const callback = "https://id.example.com/login/facebook/callback"

func TestFacebook(t *testing.T) {
	ctx := context.Background()
	fake := federationtest.New(t, federationtest.Facebook, "fb-app", "fb-secret")
	conn, err := facebook.Open(facebook.Config{
		ClientID: "fb-app", ClientSecret: "fb-secret", CallbackURL: callback,
		HTTPClient: federation.NewHTTPClient(5*time.Second, federationtest.Transport(nil, fake)),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := federation.Auth{State: "state-0123456789"}
	authURL, session, err := conn.Begin(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if u.Host != "www.facebook.com" || u.Query().Get("scope") != "email public_profile" || u.Query().Get("redirect_uri") != callback {
		t.Fatalf("authorization URL %s", authURL)
	}
	if conn.AuthOrigin() != "https://www.facebook.com" {
		t.Errorf("AuthOrigin = %q", conn.AuthOrigin())
	}
	// The fake checks appsecret_proof on /me.
	up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL))
	if err != nil {
		t.Fatal(err)
	}
	want := federation.UpstreamIdentity{
		Subject: "10769150350006150715113082367", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", Picture: "https://pictures.example/ada.png",
	}
	if up != want {
		t.Errorf("identity:\n got %+v\nwant %+v", up, want)
	}

	t.Run("an account without an email has no verified email", func(t *testing.T) {
		fake.SetAccount(federationtest.Account{ID: "77", Name: "No Mail"})
		authURL, session, _ := conn.Begin(ctx, a)
		up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL))
		if err != nil || up.Email != "" || up.EmailVerified || up.Subject != "77" {
			t.Fatalf("%+v, %v", up, err)
		}
	})
	t.Run("a malformed profile is an error", func(t *testing.T) {
		fake.Fail(federationtest.Profile, federationtest.Malformed)
		defer fake.Fail(federationtest.Profile, "")
		authURL, session, _ := conn.Begin(ctx, a)
		if up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL)); err == nil {
			t.Fatalf("got %+v", up)
		}
	})
}
