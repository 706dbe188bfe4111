package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestAdminClientBootstrap(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	r := mustRun(t, e, "clients", "create", "--name", "ops", "--admin", "--output", "json")
	var c wireClient
	decode(t, r, &c)

	t.Run("clients create --admin allows the admin scope and client_credentials", func(t *testing.T) {
		if !slices.Contains(strings.Fields(c.Scope), "gatehouse:admin") {
			t.Errorf("scope = %q, want gatehouse:admin in it", c.Scope)
		}
		if !slices.Equal(c.GrantTypes, []string{"client_credentials"}) {
			t.Errorf("grant_types = %q, want [client_credentials]", c.GrantTypes)
		}
	})

	t.Run("its client_credentials token opens the admin API", func(t *testing.T) {
		s := startServe(t, e)
		cc := clientcredentials.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: s.url + "/oauth2/token",
			Scopes: []string{"gatehouse:admin"}, AuthStyle: oauth2.AuthStyleInHeader,
		}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, s.url+"/admin/v1/clients", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/v1/clients: %d, %v", resp.StatusCode, err)
		}
		if len(body.Items) != 1 || body.Items[0]["client_id"] != c.ClientID {
			t.Errorf("clients = %v", body.Items)
		}
		if strings.Contains(s.logs.String(), tok.AccessToken) {
			t.Error("the logs show the admin token")
		}
	})
}

func TestUsersCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_ARGON2_MEMORY_KIB", "8192", "GATEHOUSE_ARGON2_ITERATIONS", "1")
	var ada, bob userWire
	decode(t, mustRun(t, e, "users", "create", "--email", "ada@example.com", "--password", "correct horse battery", "--name", "Ada Lovelace", "--output", "json"), &ada)
	decode(t, mustRun(t, e, "users", "create", "--email", "bob@example.com", "--password", "correct horse battery", "--name", "Bob", "--output", "json"), &bob)

	t.Run("list --output json lists everyone, or those matching a prefix", func(t *testing.T) {
		var all []userWire
		decode(t, mustRun(t, e, "users", "list", "--output", "json"), &all)
		if len(all) != 2 {
			t.Errorf("list = %+v", all)
		}
		var some []userWire
		decode(t, mustRun(t, e, "users", "list", "--email-prefix", "ADA", "--output", "json"), &some)
		if len(some) != 1 || some[0].ID != ada.ID {
			t.Errorf("--email-prefix ADA = %+v", some)
		}
		decode(t, mustRun(t, e, "users", "list", "--name-prefix", "bo", "--output", "json"), &some)
		if len(some) != 1 || some[0].ID != bob.ID {
			t.Errorf("--name-prefix bo = %+v", some)
		}
		if r := mustRun(t, e, "users", "list"); !strings.Contains(r.stdout, "ada@example.com") {
			t.Errorf("text list:\n%s", r.stdout)
		}
	})
	t.Run("get --output json shows one user without a password", func(t *testing.T) {
		r := mustRun(t, e, "users", "get", ada.ID, "--output", "json")
		var got userWire
		decode(t, r, &got)
		if got.Email != "ada@example.com" || got.Name != "Ada Lovelace" {
			t.Errorf("get = %+v", got)
		}
		if strings.Contains(r.stdout, "argon2") || strings.Contains(r.stdout, "password") {
			t.Errorf("get shows the password hash:\n%s", r.stdout)
		}
	})
	t.Run("delete removes the user; a second delete fails with exit 1", func(t *testing.T) {
		mustRun(t, e, "users", "delete", ada.ID)
		if r := run(t, e, "users", "get", ada.ID); r.code != exitError {
			t.Errorf("get after delete: %v", r)
		}
		if r := run(t, e, "users", "delete", ada.ID); r.code != exitError {
			t.Errorf("second delete: %v", r)
		}
	})
	t.Run("bad usage exits 2", func(t *testing.T) {
		for _, args := range [][]string{{"users", "get"}, {"users", "delete"}, {"users", "frobnicate"}, {"users", "list", "extra"}} {
			if r := run(t, e, args...); r.code != exitUsage {
				t.Errorf("%q: %v", args, r)
			}
		}
	})
}

// userWire is a user as --output json prints it.
type userWire struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
}

func TestRegistrationTokensListAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	var created struct {
		ID    string `json:"id"`
		Token string `json:"initial_access_token"`
	}
	decode(t, mustRun(t, e, "registration-tokens", "create", "--expires-in", "1h", "--uses", "3", "--output", "json"), &created)
	var live []struct {
		ID       string `json:"id"`
		UsesLeft int    `json:"uses_left"`
	}
	r := mustRun(t, e, "registration-tokens", "list", "--output", "json")
	decode(t, r, &live)
	if len(live) != 1 || live[0].UsesLeft != 3 || live[0].ID != created.ID {
		t.Fatalf("list = %+v", live)
	}
	if strings.Contains(r.stdout, created.Token) {
		t.Error("list shows the token itself")
	}
	mustRun(t, e, "registration-tokens", "delete", live[0].ID)
	decode(t, mustRun(t, e, "registration-tokens", "list", "--output", "json"), &live)
	if len(live) != 0 {
		t.Errorf("list after delete = %+v", live)
	}
	if r := run(t, e, "registration-tokens", "delete", "nope"); r.code != exitError {
		t.Errorf("deleting an unknown token: %v", r)
	}
}

func TestClientsRotateSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	c := createClient(t, e, "a")
	var got struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	r := mustRun(t, e, "clients", "rotate-secret", c.ClientID, "--output", "json")
	decode(t, r, &got)
	if got.ClientID != c.ClientID || len(got.ClientSecret) < 43 || got.ClientSecret == c.ClientSecret {
		t.Errorf("rotate-secret = %+v", got)
	}
	if r := run(t, e, "clients", "rotate-secret", "nope"); r.code != exitError {
		t.Errorf("unknown client: %v", r)
	}
	pub := mustRun(t, e, "clients", "create", "--name", "spa", "--public", "--redirect-uri", "https://app.example/cb", "--output", "json")
	var p wireClient
	decode(t, pub, &p)
	if r := run(t, e, "clients", "rotate-secret", p.ClientID); r.code != exitUsage {
		t.Errorf("a public client has no secret to rotate: %v", r)
	}
}
