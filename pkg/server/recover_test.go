package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines written so far.
func (b *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// panickingHandler panics the way its path says.
func panickingHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/boom":
		panic("boom: a bug in a handler")
	case "/boom-after-headers-set":
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Location", "https://app.example/cb")
		w.Header().Set("Set-Cookie", "half=done")
		panic(struct{ Reason string }{"a value that is not a string"})
	case "/boom-mid-answer":
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "the first half")
		w.(http.Flusher).Flush()
		panic("boom after the answer began")
	case "/abort":
		panic(http.ErrAbortHandler)
	}
	_, _ = io.WriteString(w, "fine")
}

// TestPanicRecovery mounts handlers that panic behind the server's real
// middleware (observe) on a real listener.
func TestPanicRecovery(t *testing.T) {
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	h := observe(http.HandlerFunc(panickingHandler), log, newMetrics(), clientip.New(nil, ""), fixedLimit(1<<20), false)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	get := func(t *testing.T, path, requestID string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	// panicLogged finds the error-level "panic" line of a request.
	panicLogged := func(t *testing.T, id string) map[string]any {
		t.Helper()
		for _, l := range logs.lines(t) {
			if l["msg"] == "panic" && l["request_id"] == id {
				return l
			}
		}
		return nil
	}

	for _, tc := range []struct {
		name, path, requestID string
	}{
		{"a panic answers 500 server_error with a new request id", "/boom", ""},
		{"a panic keeps the caller's request id", "/boom", "caller-id-123"},
		{"a panic after headers were set answers JSON without them", "/boom-after-headers-set", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, tc.path, tc.requestID)
			if resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			id := resp.Header.Get("X-Request-Id")
			if id == "" || (tc.requestID != "" && id != tc.requestID) {
				t.Fatalf("X-Request-Id %q, sent %q", id, tc.requestID)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("Location") != "" || resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("the handler's headers were kept: %v", resp.Header)
			}
			var answer map[string]string
			if err := json.Unmarshal(body, &answer); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if answer["error"] != "server_error" || answer["request_id"] != id || len(answer) != 2 {
				t.Fatalf("body %s, request id %q", body, id)
			}
			l := panicLogged(t, id)
			if l == nil {
				t.Fatal("the panic was not logged with its request id")
			}
			if l["level"] != "ERROR" {
				t.Errorf("the panic was logged at %v", l["level"])
			}
			if stack, _ := l["stack"].(string); !strings.Contains(stack, "server.panickingHandler") {
				t.Errorf("the log line has no stack through the handler: %q", stack)
			}
			if p, _ := l["panic"].(string); p == "" {
				t.Error("the log line does not say what panicked")
			}
			var requestLogged bool
			for _, l := range logs.lines(t) {
				requestLogged = requestLogged || (l["msg"] == "request" && l["request_id"] == id && l["status"] == float64(500) && l["level"] == "ERROR")
			}
			if !requestLogged {
				t.Error("the request's own log line does not say 500 at error level")
			}
		})
	}

	t.Run("a panic after the answer began cuts the connection", func(t *testing.T) {
		resp, err := srv.Client().Get(srv.URL + "/boom-mid-answer")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatal("a cut-off answer was delivered as a whole one")
		}
		var found bool
		for _, l := range logs.lines(t) {
			found = found || (l["msg"] == "panic" && l["level"] == "ERROR" && strings.Contains(l["stack"].(string), "server.panickingHandler"))
		}
		if !found {
			t.Fatal("the panic was not logged")
		}
	})

	t.Run("http.ErrAbortHandler cuts the connection and is not logged as a panic", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/abort", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-Id", "abort-1")
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("the aborted request was answered %d", resp.StatusCode)
		}
		if panicLogged(t, "abort-1") != nil {
			t.Fatal("an abort was logged as a panic")
		}
	})

	t.Run("the server goes on serving", func(t *testing.T) {
		resp, body := get(t, "/fine", "")
		if resp.StatusCode != http.StatusOK || string(body) != "fine" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
}

// fixedLimit is a body limit for every request alike.
func fixedLimit(n int64) func(*http.Request) int64 {
	return func(*http.Request) int64 { return n }
}
