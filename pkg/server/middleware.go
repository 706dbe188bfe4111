package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/events"
)

// recordRoute is router middleware: it notes the matched route's template
// on observe's writer, for the log line and the metrics. (The writer, not
// the request's context, carries it back out: a context value would cost
// every request a copy of the request.)
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			if route := mux.CurrentRoute(r); route != nil {
				if t, err := route.GetPathTemplate(); err == nil {
					sw.route = t
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code and body size written, and the
// route template recordRoute found.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	route  string
	// attrs are what the handler added to the request's log line
	// (reqlog.Annotate).
	attrs []slog.Attr
}

// AddLogAttrs adds attributes to the request's log line (reqlog.Annotator).
func (w *statusWriter) AddLogAttrs(attrs ...slog.Attr) { w.attrs = append(w.attrs, attrs...) }

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id (also put in its context for the
// events it causes, events.WithRequestID), finds the client's address (the
// peer's, or the one a trusted proxy names) and puts it in the request's
// context (clientip.FromContext), recovers from panics, limits the body
// (to what bodyLimit says for the request),
// sets security headers, and logs and measures the request. Logs carry the
// route template, never the query string: it may hold codes or tokens.
func observe(next http.Handler, log *slog.Logger, m *metrics, ips *clientip.Resolver, bodyLimit func(*http.Request) int64, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ip := ips.Resolve(r)
		// The request id goes with every change the request makes (the
		// audit log's request_id, see pkg/events).
		r = r.WithContext(events.WithRequestID(clientip.NewContext(r.Context(), ip), id))
		ctx := r.Context()
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if https {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r))
		}
		sw := &statusWriter{ResponseWriter: w, route: "unmatched"}
		defer func() {
			// A handler that panics with http.ErrAbortHandler asks for the
			// connection to be cut; any other panic is a bug: logged with
			// its stack, answered 500 with the request id if nothing was
			// written yet, and otherwise the connection is cut too, so the
			// client cannot take a half answer for a whole one.
			p := recover()
			abort := p == http.ErrAbortHandler
			if p != nil && !abort {
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writePanicAnswer(sw, id)
				} else {
					abort = true
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			elapsed := time.Since(start)
			m.requests.WithLabelValues(sw.route, r.Method, strconv.Itoa(sw.status)).Inc()
			m.duration.WithLabelValues(sw.route).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(ctx, level, "request", append([]slog.Attr{
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("route", sw.route),
				slog.String("ip", ipString(ip)),
				slog.Int("status", sw.status),
				slog.Int("bytes", sw.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			}, sw.attrs...)...)
			if abort {
				panic(http.ErrAbortHandler)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// writePanicAnswer answers a request whose handler panicked before writing
// anything: 500 server_error with the request id, in the header and the
// body, so a customer or integrator can quote it. Headers the handler set
// for the answer it meant to give are dropped.
func writePanicAnswer(w http.ResponseWriter, id string) {
	h := w.Header()
	for _, name := range []string{"Content-Length", "Content-Encoding", "Content-Disposition", "Location", "Set-Cookie", "ETag", "Last-Modified"} {
		h.Del(name)
	}
	h.Set("X-Request-Id", id)
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	body, _ := json.Marshal(struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}{"server_error", id})
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(body)
}

// ipString writes an address for the log, "" for none.
func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// validRequestID accepts a caller's request id only if it is short and
// plain, so it cannot forge log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
