package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// newUnstartedServer builds a server on both listeners' port 0 (never the
// default :9000, which parallel tests would share), changed by change.
func newUnstartedServer(t *testing.T, databaseURL string, change func(*config.Config)) (*server.Server, *syncBuffer) {
	t.Helper()
	cfg := config.Default()
	cfg.DatabaseURL = databaseURL
	cfg.Secret = "test-secret-test-secret-test-secret-0123"
	cfg.HTTPAddr, cfg.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownDrainDelay = 0 // tests that drain say so
	if change != nil {
		change(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, logs
}

// serving is a server running Serve in a goroutine.
type serving struct {
	addrs  server.Listeners
	cancel context.CancelFunc
	done   chan error
}

// serve runs srv.Serve and returns once both listeners accept connections.
func serve(t *testing.T, srv *server.Server) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan server.Listeners, 1)
	go func() { s.done <- srv.Serve(ctx, func(l server.Listeners) { ready <- l }) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	select {
	case s.addrs = <-ready:
	case err := <-s.done:
		t.Fatalf("Serve returned before it was ready: %v", err)
	}
	return s
}

// get answers the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestManagementListener(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		srv, _ := newUnstartedServer(t, db.URL, nil)
		s := serve(t, srv)
		if s.addrs.Management == nil {
			t.Fatal("ready gave no management address")
		}
		public, management := "http://"+s.addrs.HTTP.String(), "http://"+s.addrs.Management.String()

		t.Run("/metrics is not on the customer-facing listener", func(t *testing.T) {
			if code, _ := get(t, public+"/metrics"); code != http.StatusNotFound {
				t.Fatalf("public /metrics = %d, want 404", code)
			}
		})
		t.Run("/metrics on the management listener counts the public listener's requests", func(t *testing.T) {
			code, body := get(t, management+"/metrics")
			if code != http.StatusOK {
				t.Fatalf("management /metrics = %d", code)
			}
			if !strings.Contains(body, `gatehouse_http_requests_total{code="404",method="GET"`) {
				t.Errorf("the public 404 is not counted:\n%s", body)
			}
			if !strings.Contains(body, "go_goroutines") {
				t.Error("the runtime metrics are missing")
			}
		})
		t.Run("/healthz and /readyz answer on both listeners", func(t *testing.T) {
			for _, base := range []string{public, management} {
				for _, path := range []string{"/healthz", "/readyz"} {
					if code, body := get(t, base+path); code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
						t.Errorf("%s%s = %d %s", base, path, code, body)
					}
				}
			}
		})
		t.Run("the management listener serves nothing else", func(t *testing.T) {
			for _, path := range []string{"/", "/.well-known/openid-configuration", "/admin/v1/clients", "/login"} {
				if code, _ := get(t, management+path); code != http.StatusNotFound {
					t.Errorf("management %s = %d, want 404", path, code)
				}
			}
		})
		t.Run("cancelling shuts both listeners down and Serve returns nil", func(t *testing.T) {
			s.cancel()
			if err := <-s.done; err != nil {
				t.Fatalf("Serve = %v", err)
			}
			s.done <- nil // for the cleanup
			for _, addr := range []net.Addr{s.addrs.HTTP, s.addrs.Management} {
				if c, err := net.Dial("tcp", addr.String()); err == nil {
					c.Close()
					t.Errorf("%s still accepts connections", addr)
				}
			}
		})
	})
}

func TestManagementListenerOff(t *testing.T) {
	srv, logs := newUnstartedServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.MetricsAddr = server.MetricsOff })
	s := serve(t, srv)
	if s.addrs.Management != nil {
		t.Fatalf("with metrics_addr off, a management listener is on %s", s.addrs.Management)
	}
	if !strings.Contains(logs.String(), `"management_addr":"off"`) {
		t.Errorf("the start line does not say the management listener is off:\n%s", logs)
	}
	public := "http://" + s.addrs.HTTP.String()
	if code, _ := get(t, public+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics = %d, want 404", code)
	}
	if code, _ := get(t, public+"/healthz"); code != http.StatusOK {
		t.Errorf("public /healthz = %d", code)
	}
}

func TestManagementAddressInUseStopsStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	srv, _ := newUnstartedServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.MetricsAddr = addr })
	readied := false
	err = srv.Serve(context.Background(), func(server.Listeners) { readied = true })
	want := "GATEHOUSE_METRICS_ADDR: listen on " + addr + ": address already in use; set another port or off"
	if err == nil || err.Error() != want {
		t.Fatalf("Serve = %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("the error does not wrap EADDRINUSE: %#v", err)
	}
	if readied {
		t.Error("ready was called although the server did not start")
	}
}
