package github_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/federation/federationtest"
	"github.com/gatehouse-id/gatehouse/pkg/federation/github"
)

const callback = "https://id.example.com/login/github/callback"

func TestGitHub(t *testing.T) {
	ctx := context.Background()
	fake := federationtest.New(t, federationtest.GitHub, "gh-client", "gh-secret")
	fake.SetAccount(federationtest.Account{ID: "583231", Email: "octo@example.com", EmailVerified: true, Name: "The Octocat", Picture: "https://avatars.example/octo"})
	conn, err := github.Open(github.Config{
		ClientID: "gh-client", ClientSecret: "gh-secret", CallbackURL: callback,
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
	if u.Host != "github.com" || u.Query().Get("scope") != "read:user user:email" {
		t.Fatalf("authorization URL %s", authURL)
	}
	up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL))
	if err != nil {
		t.Fatal(err)
	}
	want := federation.UpstreamIdentity{Subject: "583231", Email: "octo@example.com", EmailVerified: true, Name: "The Octocat", Picture: "https://avatars.example/octo"}
	if up != want {
		t.Errorf("identity:\n got %+v\nwant %+v", up, want)
	}

	t.Run("an address the email list says is unverified is unverified", func(t *testing.T) {
		fake.SetAccount(federationtest.Account{ID: "9", Email: "octo@example.com", Name: "Octo"})
		authURL, session, _ := conn.Begin(ctx, a)
		up, err := conn.Finish(ctx, a, session, fake.Consent(t, authURL))
		if err != nil || up.EmailVerified || up.Email != "octo@example.com" {
			t.Fatalf("%+v, %v", up, err)
		}
	})
}
