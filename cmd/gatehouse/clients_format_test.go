package main

import (
	"strings"
	"testing"
)

// TestClientsAccessTokenFormat checks --access-token-format: jwt needs an
// audience, is shown by get, and update can switch back to opaque.
func TestClientsAccessTokenFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	if r := run(t, e, "clients", "create", "--name", "api", "--grant-type", "client_credentials", "--access-token-format", "jwt"); r.code == 0 {
		t.Fatal("jwt without an audience was accepted")
	}
	if r := run(t, e, "clients", "create", "--name", "api", "--grant-type", "client_credentials", "--access-token-format", "paseto"); r.code == 0 {
		t.Fatal("an unknown format was accepted")
	}
	var c struct {
		ClientID          string `json:"client_id"`
		AccessTokenFormat string `json:"access_token_format"`
	}
	decode(t, mustRun(t, e, "clients", "create", "--name", "api", "--grant-type", "client_credentials",
		"--audience", "https://api.example.com", "--access-token-format", "jwt", "--output", "json"), &c)
	if c.AccessTokenFormat != "jwt" {
		t.Fatalf("access_token_format %q, want jwt", c.AccessTokenFormat)
	}
	if out := mustRun(t, e, "clients", "get", c.ClientID); !strings.Contains(out.stdout, "access_token_format:") || !strings.Contains(out.stdout, "jwt") {
		t.Errorf("clients get does not show the format:\n%s", out.stdout)
	}
	decode(t, mustRun(t, e, "clients", "update", c.ClientID, "--access-token-format", "opaque", "--output", "json"), &c)
	if c.AccessTokenFormat != "opaque" {
		t.Errorf("after update: %q, want opaque", c.AccessTokenFormat)
	}
}
