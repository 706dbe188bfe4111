package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/server"
)

// clientCredentialsToken asks the server at issuer for a token with the
// client-credentials grant, authenticating with client_secret_basic.
func clientCredentialsToken(t *testing.T, issuer, id, secret, scope string) (*oauth2.Token, error) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	cc := clientcredentials.Config{
		ClientID:     id,
		ClientSecret: secret,
		TokenURL:     issuer + "/oauth2/token",
		Scopes:       strings.Fields(scope),
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return cc.Token(ctx)
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_LOG_LEVEL", "debug")

	s := startServe(t, e)

	// The server holds the SQLite file open; a second invocation writes to
	// it at the same time, as an operator's shell would.
	c := createClient(t, e, "a b")

	var tok *oauth2.Token
	t.Run("a client created by the command line while the server runs gets a token", func(t *testing.T) {
		var err error
		tok, err = clientCredentialsToken(t, s.url, c.ClientID, c.ClientSecret, "a")
		if err != nil {
			t.Fatalf("token: %v\nlogs:\n%s", err, s.logs.String())
		}
		if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") {
			t.Errorf("token = %+v", tok)
		}
		if got, _ := tok.Extra("scope").(string); got != "a" {
			t.Errorf("granted scope = %q, want a", got)
		}
	})

	t.Run("a wrong client secret is refused with invalid_client", func(t *testing.T) {
		_, err := clientCredentialsToken(t, s.url, c.ClientID, c.ClientSecret+"x", "a")
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != http.StatusUnauthorized || re.ErrorCode != "invalid_client" {
			t.Errorf("err = %v, want a 401 invalid_client", err)
		}
	})

	t.Run("a scope the client was not registered for is refused", func(t *testing.T) {
		_, err := clientCredentialsToken(t, s.url, c.ClientID, c.ClientSecret, "c")
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Errorf("err = %v, want invalid_scope", err)
		}
	})

	t.Run("cancelling the context shuts the server down gracefully with exit 0", func(t *testing.T) {
		if code := s.stop(t, 5*time.Second); code != exitOK {
			t.Fatalf("serve exited %d; logs:\n%s", code, s.logs.String())
		}
		if _, err := (&http.Client{Timeout: time.Second}).Get(s.url + "/healthz"); err == nil {
			t.Error("the server still answers after shutdown")
		}
		if s.stdout.String() != "" {
			t.Errorf("serve wrote to stdout: %q", s.stdout.String())
		}
	})

	logs := s.logs.String()
	t.Run("the logs are JSON lines recording start, the token request and shutdown", func(t *testing.T) {
		var msgs []string
		tokenLogged := false
		for line := range strings.Lines(logs) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("log line is not JSON (%v): %q", err, line)
				continue
			}
			msg, _ := rec["msg"].(string)
			msgs = append(msgs, msg)
			if msg == "request" && rec["route"] == "/oauth2/token" && rec["status"] == float64(http.StatusOK) {
				tokenLogged = true
			}
		}
		for _, want := range []string{"starting gatehouse", "gatehouse is serving", "shutting down"} {
			if !strings.Contains(strings.Join(msgs, "\n"), want) {
				t.Errorf("no %q log among %q", want, msgs)
			}
		}
		if !tokenLogged {
			t.Errorf("the successful token request was not logged:\n%s", logs)
		}
	})

	t.Run("the logs carry no client secret, access token or system secret", func(t *testing.T) {
		if tok == nil {
			t.Skip("no token was issued")
		}
		for name, secret := range map[string]string{
			"client secret": c.ClientSecret,
			"access token":  tok.AccessToken,
			"system secret": testSecret,
		} {
			if strings.Contains(logs, secret) {
				t.Errorf("the logs contain the %s", name)
			}
		}
		// The opaque token is <prefix><key>.<signature>; neither half may
		// appear alone either.
		for part := range strings.SplitSeq(tok.AccessToken, ".") {
			if len(part) >= 16 && strings.Contains(logs, part) {
				t.Errorf("the logs contain part of the access token: %q", part)
			}
		}
	})
}

func TestGeneratedSecretFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // no GATEHOUSE_SECRET
	secretFile := e.dbPath() + ".secret"

	if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
		t.Fatalf("secret file exists before any command: %v", err)
	}
	first := run(t, e, "clients", "create", "--name", "machine", "--grant-type", "client_credentials",
		"--scope", "a", "--output", "json")
	if first.code != exitOK {
		t.Fatalf("%v", first)
	}
	var c wireClient
	decode(t, first, &c)

	var content []byte
	t.Run("the first command creates <db>.secret with mode 0600", func(t *testing.T) {
		info, err := os.Stat(secretFile)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("mode = %#o, want 0600", perm)
		}
		content, err = os.ReadFile(secretFile)
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(content)); len(s) < 32 || !urlSafe.MatchString(s) {
			t.Errorf("secret file holds %d bytes of %q, want 32 or more URL-safe characters", len(s), s)
		}
	})

	t.Run("the first command warns, in JSON, naming the file but not the secret", func(t *testing.T) {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			File  string `json:"file"`
		}
		if err := json.Unmarshal([]byte(first.stderr), &rec); err != nil {
			t.Fatalf("stderr is not one JSON log line (%v):\n%s", err, first.stderr)
		}
		if rec.Level != "WARN" || !strings.Contains(rec.Msg, "GATEHOUSE_SECRET is not set") || rec.File != secretFile {
			t.Errorf("warning = %+v", rec)
		}
		if s := strings.TrimSpace(string(content)); s != "" && strings.Contains(first.stderr, s) {
			t.Error("the warning shows the secret")
		}
	})

	t.Run("later commands reuse the file silently", func(t *testing.T) {
		r := mustRun(t, e, "clients", "get", c.ClientID, "--output", "json")
		if r.stderr != "" {
			t.Errorf("second command logged %q", r.stderr)
		}
		after, err := os.ReadFile(secretFile)
		if err != nil {
			t.Fatal(err)
		}
		if string(after) != string(content) {
			t.Error("the secret file changed")
		}
	})

	t.Run("a client created by an earlier command authenticates in a later serve", func(t *testing.T) {
		s := startServe(t, e)
		tok, err := clientCredentialsToken(t, s.url, c.ClientID, c.ClientSecret, "a")
		if err != nil {
			t.Fatalf("token: %v\nlogs:\n%s", err, s.logs.String())
		}
		if tok.AccessToken == "" {
			t.Error("empty access token")
		}
		if code := s.stop(t, 5*time.Second); code != exitOK {
			t.Errorf("serve exited %d", code)
		}
		if strings.Contains(s.logs.String(), strings.TrimSpace(string(content))) {
			t.Error("serve logged the system secret")
		}
	})

	t.Run("a secret file readable by others is refused as invalid configuration", func(t *testing.T) {
		if err := os.Chmod(secretFile, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(secretFile, 0o600) })
		r := run(t, e, "clients", "list")
		if r.code != exitUsage || !strings.Contains(r.stderr, "looser than 0600") {
			t.Errorf("want exit 2 about the file mode, got %v", r)
		}
	})

	t.Run("a set GATEHOUSE_SECRET is used and no file is created", func(t *testing.T) {
		other := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
		r := mustRun(t, other, "clients", "list")
		if r.stderr != "" {
			t.Errorf("stderr = %q", r.stderr)
		}
		if _, err := os.Stat(other.dbPath() + ".secret"); !os.IsNotExist(err) {
			t.Errorf("a secret file was created although GATEHOUSE_SECRET is set: %v", err)
		}
	})
}

// TestServeGCSettings checks that serve raises the garbage collector's
// target and sets a soft memory limit unless GOGC and GOMEMLIMIT are set.
// Not parallel: both are the process's.
func TestServeGCSettings(t *testing.T) {
	const limit = 1 << 40
	defer debug.SetGCPercent(debug.SetGCPercent(123))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))

	s := startServe(t, newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GOGC", "123", "GOMEMLIMIT", "1TiB"))
	s.stop(t, 10*time.Second)
	if got := debug.SetGCPercent(123); got != 123 {
		t.Errorf("with GOGC set, serve changed the GC target to %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("with GOMEMLIMIT set, serve changed the memory limit to %d", got)
	}

	s = startServe(t, newEnv(t).with("GATEHOUSE_SECRET", testSecret))
	s.stop(t, 10*time.Second)
	if got := debug.SetGCPercent(123); got != server.GCPercent {
		t.Errorf("without GOGC, the GC target is %d, want %d", got, server.GCPercent)
	}
	cfg, err := config.Load("", newEnv(t).lookup())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := debug.SetMemoryLimit(-1), server.MemoryLimit(cfg); got != want || want < 64<<20 {
		t.Errorf("without GOMEMLIMIT, the memory limit is %d, want %d", got, want)
	}
}
