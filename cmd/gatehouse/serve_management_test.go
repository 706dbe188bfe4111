package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeManagementListener(t *testing.T) {
	t.Parallel()
	t.Run("metrics are on the management listener, not the public one", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, newEnv(t).with("GATEHOUSE_SECRET", testSecret))
		status := func(url string) int {
			t.Helper()
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := status(s.url + "/metrics"); got != http.StatusNotFound {
			t.Errorf("public /metrics = %d, want 404", got)
		}
		for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
			if got := status(s.management + path); got != http.StatusOK {
				t.Errorf("management %s = %d, want 200", path, got)
			}
		}
		if code := s.stop(t, 10*time.Second); code != exitOK {
			t.Fatalf("serve exited %d", code)
		}
		// The logs are complete once serve has returned.
		if !strings.Contains(s.logs.String(), `"management_addr":"`+strings.TrimPrefix(s.management, "http://")+`"`) {
			t.Errorf("the start line does not name the management address:\n%s", s.logs.String())
		}
	})
	t.Run("a busy management address stops serve with the setting named", func(t *testing.T) {
		t.Parallel()
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		addr := busy.Addr().String()
		e := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_HTTP_ADDR", "127.0.0.1:0", "GATEHOUSE_METRICS_ADDR", addr)
		var stdout, stderr syncBuffer
		a := &app{stdout: &stdout, stderr: &stderr, lookupEnv: e.lookup()}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		code := a.run(ctx, []string{"serve"})
		want := "GATEHOUSE_METRICS_ADDR: listen on " + addr + ": address already in use; set another port or off"
		if code != exitError || !strings.Contains(stderr.String(), want) {
			t.Fatalf("serve exited %d, want %d and %q; stderr:\n%s", code, exitError, want, stderr.String())
		}
	})
}
