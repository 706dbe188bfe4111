package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// urlSafe matches base64url text without padding.
var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestClientsLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)

	r := mustRun(t, e, "clients", "create", "--name", "backend", "--grant-type", "client_credentials",
		"--scope", "a b", "--output", "json")
	var created wireClient
	decode(t, r, &created)
	id := created.ClientID

	t.Run("create --output json prints the id and a 256-bit URL-safe secret", func(t *testing.T) {
		if !urlSafe.MatchString(id) {
			t.Errorf("client_id %q is not URL-safe", id)
		}
		if len(created.ClientSecret) < 43 || !urlSafe.MatchString(created.ClientSecret) {
			t.Errorf("client_secret %q: want at least 43 URL-safe characters", created.ClientSecret)
		}
		if created.ClientSecret == id {
			t.Error("client_secret equals client_id")
		}
	})

	t.Run("create --output json prints the registered metadata", func(t *testing.T) {
		if created.ClientName != "backend" {
			t.Errorf("client_name = %q, want backend", created.ClientName)
		}
		if created.Scope != "a b" {
			t.Errorf("scope = %q, want %q", created.Scope, "a b")
		}
		if !slices.Equal(created.GrantTypes, []string{"client_credentials"}) {
			t.Errorf("grant_types = %q, want [client_credentials]", created.GrantTypes)
		}
		if created.TokenEndpointAuthMethod != "client_secret_basic" {
			t.Errorf("token_endpoint_auth_method = %q, want client_secret_basic", created.TokenEndpointAuthMethod)
		}
		if created.Public {
			t.Error("public = true for a confidential client")
		}
		if created.RedirectURIs == nil || len(created.RedirectURIs) != 0 {
			t.Errorf("redirect_uris = %#v, want an empty list (not null)", created.RedirectURIs)
		}
	})

	t.Run("create logs nothing on success and never the secret", func(t *testing.T) {
		if strings.Contains(r.stderr, created.ClientSecret) {
			t.Errorf("stderr shows the client secret:\n%s", r.stderr)
		}
		if r.stderr != "" {
			t.Errorf("stderr = %q, want nothing", r.stderr)
		}
	})

	t.Run("get --output json shows the same client without its secret", func(t *testing.T) {
		for _, args := range [][]string{
			{"clients", "get", id, "--output", "json"},
			{"clients", "get", "--output", "json", id},
		} {
			r := mustRun(t, e, args...)
			var raw map[string]any
			decode(t, r, &raw)
			if _, ok := raw["client_secret"]; ok {
				t.Errorf("%q shows client_secret:\n%s", args, r.stdout)
			}
			if strings.Contains(r.stdout, created.ClientSecret) {
				t.Errorf("%q shows the secret", args)
			}
			var got wireClient
			decode(t, r, &got)
			want := created
			want.ClientSecret = ""
			if !equalClients(got, want) {
				t.Errorf("%q = %+v, want %+v", args, got, want)
			}
		}
	})

	t.Run("get --output text shows the client's settings", func(t *testing.T) {
		r := mustRun(t, e, "clients", "get", id)
		for _, want := range []string{"client_id:", id, "grant_types:", "client_credentials", "scope:", "a b", "client_secret_basic"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("text output lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, created.ClientSecret) {
			t.Error("text output shows the secret")
		}
	})

	t.Run("list --output json includes the client without its secret", func(t *testing.T) {
		r := mustRun(t, e, "clients", "list", "--output", "json")
		var list []wireClient
		decode(t, r, &list)
		i := slices.IndexFunc(list, func(c wireClient) bool { return c.ClientID == id })
		if i < 0 {
			t.Fatalf("list lacks %s:\n%s", id, r.stdout)
		}
		if list[i].ClientSecret != "" || strings.Contains(r.stdout, "client_secret\"") {
			t.Errorf("list shows a client_secret:\n%s", r.stdout)
		}
		if list[i].Scope != "a b" || !slices.Equal(list[i].GrantTypes, []string{"client_credentials"}) {
			t.Errorf("listed client = %+v", list[i])
		}
	})

	t.Run("list --output text has a header and one row per client", func(t *testing.T) {
		r := mustRun(t, e, "clients", "list")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "CLIENT_ID") || !strings.HasPrefix(lines[1], id) {
			t.Errorf("text list =\n%s", r.stdout)
		}
	})

	t.Run("delete removes the client, then get and delete exit 1", func(t *testing.T) {
		r := mustRun(t, e, "clients", "delete", id)
		if !strings.Contains(r.stdout, id) {
			t.Errorf("delete output %q does not name the client", r.stdout)
		}
		for _, args := range [][]string{{"clients", "get", id}, {"clients", "delete", id}} {
			r := run(t, e, args...)
			if r.code != exitError || !strings.Contains(r.stderr, "no client") || !strings.Contains(r.stderr, id) {
				t.Errorf("%q after delete: %v", args, r)
			}
		}
		r = mustRun(t, e, "clients", "list", "--output", "json")
		var list []wireClient
		decode(t, r, &list)
		if len(list) != 0 {
			t.Errorf("list after delete = %s", r.stdout)
		}
	})
}

// equalClients compares clients field by field (slices included).
func equalClients(a, b wireClient) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestClientsCreateTextOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)

	t.Run("a confidential client prints client_id and client_secret lines", func(t *testing.T) {
		r := mustRun(t, e, "clients", "create", "--name", "svc", "--grant-type", "client_credentials")
		id := lineValue(t, r.stdout, "client_id:")
		sec := lineValue(t, r.stdout, "client_secret:")
		if !urlSafe.MatchString(id) || len(sec) < 43 || !urlSafe.MatchString(sec) {
			t.Errorf("client_id %q, client_secret %q", id, sec)
		}
		if got := mustRun(t, e, "clients", "get", id, "--output", "json"); !strings.Contains(got.stdout, id) {
			t.Errorf("the printed client_id %q is not stored", id)
		}
	})

	t.Run("a public client prints client_id and no client_secret line", func(t *testing.T) {
		r := mustRun(t, e, "clients", "create", "--name", "spa", "--public", "--redirect-uri", "http://localhost:3000/cb")
		lineValue(t, r.stdout, "client_id:")
		if strings.Contains(r.stdout, "client_secret") {
			t.Errorf("public client output mentions a secret:\n%s", r.stdout)
		}
	})
}

// lineValue returns the value after prefix on the line that starts with it.
func lineValue(t *testing.T, out, prefix string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q line in:\n%s", prefix, out)
	return ""
}

func TestClientsCreatePublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)

	for _, tc := range []struct {
		name string
		args []string
		want wireClient // ClientID and CreatedAt are not compared
	}{
		{
			name: "a public client has no secret, auth method none and the default grants",
			args: []string{"--public", "--name", "spa", "--redirect-uri", "http://localhost:3000/cb", "--scope", "openid"},
			want: wireClient{
				ClientName:              "spa",
				RedirectURIs:            []string{"http://localhost:3000/cb"},
				PostLogoutRedirectURIs:  []string{},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				Scope:                   "openid",
				Audience:                []string{},
				TokenEndpointAuthMethod: "none",
				Public:                  true,
			},
		},
		{
			name: "redirect and post-logout redirect URIs are repeatable and keep their order",
			args: []string{
				"--public", "--name", "app",
				"--redirect-uri", "http://127.0.0.1:3000/cb", "--redirect-uri", "https://app.example.com/cb",
				"--redirect-uri", "com.example.app:/cb",
				"--post-logout-redirect-uri", "https://app.example.com/bye", "--post-logout-redirect-uri", "http://localhost:3000/bye",
				"--scope", "openid profile", "--skip-consent",
			},
			want: wireClient{
				ClientName:              "app",
				RedirectURIs:            []string{"http://127.0.0.1:3000/cb", "https://app.example.com/cb", "com.example.app:/cb"},
				PostLogoutRedirectURIs:  []string{"https://app.example.com/bye", "http://localhost:3000/bye"},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				Scope:                   "openid profile",
				Audience:                []string{},
				TokenEndpointAuthMethod: "none",
				Public:                  true,
				SkipConsent:             true,
			},
		},
		{
			name: "a confidential client without --grant-type gets the default grants and client_secret_basic",
			args: []string{"--name", "rp", "--redirect-uri", "https://rp.example.com/cb", "--audience", "api-1", "--audience", "api-2", "--scope", "openid email"},
			want: wireClient{
				ClientName:              "rp",
				RedirectURIs:            []string{"https://rp.example.com/cb"},
				PostLogoutRedirectURIs:  []string{},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				Scope:                   "openid email",
				Audience:                []string{"api-1", "api-2"},
				TokenEndpointAuthMethod: "client_secret_basic",
			},
		},
		{
			name: "client_secret_post can be chosen for a confidential client",
			args: []string{"--grant-type", "client_credentials", "--token-endpoint-auth-method", "client_secret_post"},
			want: wireClient{
				RedirectURIs:            []string{},
				PostLogoutRedirectURIs:  []string{},
				GrantTypes:              []string{"client_credentials"},
				ResponseTypes:           []string{},
				Audience:                []string{},
				TokenEndpointAuthMethod: "client_secret_post",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRun(t, e, append([]string{"clients", "create", "--output", "json"}, tc.args...)...)
			var raw map[string]any
			decode(t, r, &raw)
			_, hasSecret := raw["client_secret"]
			if hasSecret == tc.want.Public {
				t.Errorf("public=%v but client_secret present=%v:\n%s", tc.want.Public, hasSecret, r.stdout)
			}
			var got wireClient
			decode(t, r, &got)
			for _, c := range []wireClient{got, readClient(t, e, got.ClientID)} {
				c.ClientID, c.ClientSecret, c.CreatedAt = "", "", ""
				if !equalClients(c, tc.want) {
					t.Errorf("client =\n%+v\nwant\n%+v", c, tc.want)
				}
			}
		})
	}
}

// readClient reads a client back with clients get.
func readClient(t *testing.T, e env, id string) wireClient {
	t.Helper()
	var c wireClient
	decode(t, mustRun(t, e, "clients", "get", id, "--output", "json"), &c)
	return c
}
