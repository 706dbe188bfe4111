package server

import (
	"errors"
	"net"
	"net/http"
	"os"
)

// MetricsOff is the metrics_addr that disables the management listener.
const MetricsOff = "off"

// Listeners are the addresses Serve listens on, given to its ready
// callback once both accept connections.
type Listeners struct {
	// HTTP is the customer-facing listener: the protocol, the pages, the
	// admin API, /healthz and /readyz.
	HTTP net.Addr
	// Management is the management listener (metrics_addr): /metrics,
	// /healthz and /readyz. It is nil when metrics_addr is off.
	Management net.Addr
}

// managementHandler serves the management listener: /metrics, /healthz
// and /readyz, and 404 for anything else. It is not behind the customer
// listener's middleware, so scrapes and probes are neither logged nor
// counted in the request metrics.
func (s *Server) managementHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz) // GET patterns match HEAD too
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}

// listenCause returns the reason a listen failed without the operation
// around it: "address already in use" rather than "listen tcp :9000: bind:
// address already in use", for a message that names the setting first.
func listenCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se.Err
	}
	return err
}

// ManagementHandler returns the management listener's handler: /metrics,
// /healthz and /readyz. Serve mounts it on metrics_addr; tests may mount it
// on a listener of their own.
func (s *Server) ManagementHandler() http.Handler { return s.management }
