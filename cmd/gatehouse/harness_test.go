package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests run the command in-process: each invocation is a fresh app
// whose environment is a map, whose output goes to buffers, and whose
// database is a SQLite file in the test's temporary directory.

// testSecret is a valid system secret (32 bytes or more) for tests that do
// not exercise the generated secret file.
const testSecret = "cmd-test-secret-cmd-test-secret-0123456789"

// env is the environment of an invocation: GATEHOUSE_* variables by name.
type env map[string]string

// newEnv returns an environment whose database is a new SQLite file in a
// temporary directory; GATEHOUSE_SECRET is not set, so the first command
// generates the secret file beside the database.
func newEnv(t *testing.T) env {
	t.Helper()
	return env{"GATEHOUSE_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "gh.db")}
}

// with returns a copy of e with the given variables set (key, value, ...).
func (e env) with(kv ...string) env {
	out := maps.Clone(e)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// dbPath returns the path of the SQLite file of e.
func (e env) dbPath() string {
	return strings.TrimPrefix(e["GATEHOUSE_DATABASE_URL"], "sqlite://")
}

// lookup returns a lookupEnv over a snapshot of e, so that a command running
// in the background never sees later changes.
func (e env) lookup() func(string) (string, bool) {
	snapshot := maps.Clone(e)
	return func(k string) (string, bool) {
		v, ok := snapshot[k]
		return v, ok
	}
}

// syncBuffer is an output sink safe for concurrent writes, since the server
// logs from many goroutines while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is what one invocation did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs one invocation of the command with environment e.
func run(t *testing.T, e env, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	a := &app{stdout: &stdout, stderr: &stderr, lookupEnv: e.lookup()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := a.run(ctx, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs an invocation that must succeed.
func mustRun(t *testing.T, e env, args ...string) result {
	t.Helper()
	r := run(t, e, args...)
	if r.code != exitOK {
		t.Fatalf("gatehouse %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// decode parses the JSON stdout of an invocation into v.
func decode(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not the expected JSON (%v):\n%s", err, r.stdout)
	}
}

// wireClient is a client as scripts read it from --output json, declared
// here rather than reusing clientJSON so that the tests pin the field names.
type wireClient struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	Audience                []string `json:"audience"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Public                  bool     `json:"public"`
	SkipConsent             bool     `json:"skip_consent"`
	CreatedAt               string   `json:"created_at"`
}

// wireKey is a signing key as keys list and keys rotate print it.
type wireKey struct {
	KID           string `json:"kid"`
	Alg           string `json:"alg"`
	State         string `json:"state"`
	CreatedAt     string `json:"created_at"`
	DeactivatedAt string `json:"deactivated_at"`
	RetiredAt     string `json:"retired_at"`
}

// createClient registers a client_credentials client and returns it with
// its secret.
func createClient(t *testing.T, e env, scope string) wireClient {
	t.Helper()
	r := mustRun(t, e, "clients", "create", "--name", "machine", "--grant-type", "client_credentials",
		"--scope", scope, "--output", "json")
	var c wireClient
	decode(t, r, &c)
	if c.ClientID == "" || c.ClientSecret == "" {
		t.Fatalf("clients create printed no id or secret:\n%s", r.stdout)
	}
	return c
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// serving is a `gatehouse serve` running in a goroutine.
type serving struct {
	url    string // the issuer, http://127.0.0.1:PORT
	logs   *syncBuffer
	stdout *syncBuffer
	cancel context.CancelFunc
	done   chan int // receives the exit code
	code   *int     // set once the exit code was received

	// management is the management listener's base URL, or "" when the
	// environment set GATEHOUSE_METRICS_ADDR itself.
	management string
}

// startServe runs `gatehouse serve` with environment e on a free port and
// returns once /healthz answers 200. Unless e sets GATEHOUSE_METRICS_ADDR,
// the management listener is on another free port (never the default
// :9000, which parallel tests would share). The server is stopped at the
// end of the test if the test did not stop it.
func startServe(t *testing.T, e env) *serving {
	t.Helper()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	e = e.with("GATEHOUSE_HTTP_ADDR", addr, "GATEHOUSE_ISSUER", "http://"+addr)
	if _, set := e["GATEHOUSE_SHUTDOWN_DRAIN_DELAY"]; !set {
		// Stop at once: the drain is for load balancers, and tests stop
		// their servers many times.
		e = e.with("GATEHOUSE_SHUTDOWN_DRAIN_DELAY", "0s")
	}
	s := &serving{url: "http://" + addr, logs: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan int, 1)}
	if _, set := e["GATEHOUSE_METRICS_ADDR"]; !set {
		mport := freePort(t)
		for mport == port { // a port freed a moment ago may come back at once
			mport = freePort(t)
		}
		management := fmt.Sprintf("127.0.0.1:%d", mport)
		e = e.with("GATEHOUSE_METRICS_ADDR", management)
		s.management = "http://" + management
	}
	a := &app{stdout: s.stdout, stderr: s.logs, lookupEnv: e.lookup()}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- a.run(ctx, []string{"serve"}) }()
	t.Cleanup(func() {
		if s.code == nil {
			cancel()
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				t.Errorf("serve did not stop at the end of the test")
			}
		}
	})

	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case code := <-s.done:
			s.code = &code
			t.Fatalf("serve exited with %d before answering /healthz; logs:\n%s", code, s.logs.String())
		default:
		}
		resp, err := client.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 15s (last error %v); logs:\n%s", err, s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop cancels the server's context and returns its exit code, failing the
// test if it takes longer than within.
func (s *serving) stop(t *testing.T, within time.Duration) int {
	t.Helper()
	if s.code != nil {
		return *s.code
	}
	s.cancel()
	select {
	case code := <-s.done:
		s.code = &code
		return code
	case <-time.After(within):
		t.Fatalf("serve did not return within %s of its context being cancelled; logs:\n%s", within, s.logs.String())
		return -1
	}
}
