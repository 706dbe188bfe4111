package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// shutdownLoad is what busy keep-alive clients saw while a server shut
// down.
type shutdownLoad struct {
	answered atomic.Int64 // complete answers
	refused  atomic.Int64 // connections refused: the request was never sent
	broken   atomic.Int64 // requests sent that got no complete answer
	// openAfterDrain counts answers to requests sent after /readyz was
	// seen failing that did not close their connection.
	openAfterDrain atomic.Int64
	errs           sync.Map // distinct errors of broken requests
}

// keepBusy sends client-credentials grants (POST, which Go's transport
// never resends by itself, so a reset connection shows) on one keep-alive
// connection after another until the server refuses connections or stop
// closes. It signals warm after its first complete answer.
func keepBusy(tokenURL string, reg clients.Registered, load *shutdownLoad, draining *atomic.Bool, warm *sync.WaitGroup, stop <-chan struct{}) {
	// Like a load balancer, a client opens no new connection to a server
	// whose /readyz failed; it goes on with the connection it holds until
	// the server closes it.
	var dialer net.Dialer
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if draining.Load() {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errOutOfRotation}
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	warmed := false
	defer func() {
		if !warmed {
			warm.Done()
		}
	}()
	for {
		select {
		case <-stop:
			return
		default:
		}
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(reg.Client.ID, reg.Secret)
		afterDrain := draining.Load()
		resp, err := client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
		}
		var op *net.OpError
		switch {
		case err == nil:
			load.answered.Add(1)
			if afterDrain && !resp.Close {
				load.openAfterDrain.Add(1)
			}
			if !warmed {
				warmed = true
				warm.Done()
			}
		case errors.As(err, &op) && op.Op == "dial":
			load.refused.Add(1)
			return
		default:
			load.broken.Add(1)
			load.errs.Store(err.Error(), true)
		}
	}
}

// errOutOfRotation is what a client gets for a connection it does not open
// because the server is out of rotation.
var errOutOfRotation = errors.New("out of rotation")

// readyzStatus answers the status of /readyz and whether the answer closes
// its connection; 0 when there was no answer.
func readyzStatus(t *testing.T, base string) (int, bool) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Errorf("readyz during the drain: %v", err)
		return 0, false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Close
}

func TestShutdownDrainsWithoutResettingRequests(t *testing.T) {
	srv, _ := newUnstartedServer(t, gormstoretest.SQLiteURL(t), func(c *config.Config) {
		c.ShutdownDrainDelay = time.Second
	})
	s := serve(t, srv)
	public, management := "http://"+s.addrs.HTTP.String(), "http://"+s.addrs.Management.String()
	reg, err := clients.NewService(srv.Store(), srv.Secrets(), clients.Options{}).Create(context.Background(), machineClient())
	if err != nil {
		t.Fatal(err)
	}

	const busy = 24
	var (
		load     shutdownLoad
		draining atomic.Bool
		warm     sync.WaitGroup
		clientsW sync.WaitGroup
		stop     = make(chan struct{})
	)
	warm.Add(busy)
	clientsW.Add(busy)
	for range busy {
		go func() {
			defer clientsW.Done()
			keepBusy(public+"/oauth2/token", reg, &load, &draining, &warm, stop)
		}()
	}
	warm.Wait() // every client holds a keep-alive connection
	if load.broken.Load() != 0 {
		t.Fatalf("requests failed before the shutdown began")
	}

	s.cancel() // as SIGTERM does in `gatehouse serve`
	// /readyz fails on both listeners during the drain, and says so on an
	// answer that closes its connection.
	for _, base := range []string{management, public} {
		for {
			code, closes := readyzStatus(t, base)
			if code == http.StatusOK {
				continue // the drain has not begun yet
			}
			if code != 0 && (code != http.StatusServiceUnavailable || !closes) {
				t.Errorf("%s/readyz while draining = %d (Connection: close %v), want 503 closing", base, code, closes)
			}
			break
		}
	}
	draining.Store(true)

	if err := <-s.done; err != nil {
		t.Fatalf("Serve = %v, want nil (exit status 0)", err)
	}
	s.done <- nil // for the cleanup
	close(stop)
	clientsW.Wait()

	if n := load.broken.Load(); n != 0 {
		var errs []string
		load.errs.Range(func(k, _ any) bool { errs = append(errs, k.(string)); return true })
		t.Errorf("%d requests that were sent got no complete answer: %v", n, errs)
	}
	if n := load.openAfterDrain.Load(); n != 0 {
		t.Errorf("%d answers during the drain kept their connection open", n)
	}
	if load.refused.Load() != busy {
		t.Errorf("%d clients saw the listener stop, want all %d", load.refused.Load(), busy)
	}
	t.Logf("%d answers, %d clients refused once the listener stopped", load.answered.Load(), load.refused.Load())
}
