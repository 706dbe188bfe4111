// Package outage reports the answers Gatehouse gives because its database
// could not answer (storage.ErrUnavailable): each is counted, and a burst
// of them is logged as one warning with a count, not one line a request.
// It says nothing about HTTP beyond the Retry-After header the answers
// carry.
package outage

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// RetryAfter is the wait the answers suggest (RFC 9110 §10.2.3): the store
// reconnects on the first request after the database is back, so a short
// wait is enough.
const RetryAfter = 5 * time.Second

// DefaultLogEvery is how often, at most, an outage is logged.
const DefaultLogEvery = 10 * time.Second

// Is reports whether err says the database could not answer.
func Is(err error) bool { return errors.Is(err, storage.ErrUnavailable) }

// SetRetryAfter sets the Retry-After header of an answer to RetryAfter, in
// whole seconds.
func SetRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
}

// Options configure a Reporter.
type Options struct {
	// Logger receives the warnings; nil discards.
	Logger *slog.Logger
	// Count, when set, is called once for every answer, with the endpoint
	// that gave it (for a metric).
	Count func(endpoint string)
	// LogEvery is the least time between two warnings; zero means
	// DefaultLogEvery.
	LogEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Reporter counts and logs answers given because the database could not
// answer. A nil *Reporter does nothing. It is safe for concurrent use.
type Reporter struct {
	log   *slog.Logger
	count func(string)
	every time.Duration
	now   func() time.Time

	mu        sync.Mutex
	logged    bool      // a warning was ever written
	last      time.Time // when the last warning was written
	unlogged  int       // answers since the last warning
	endpoints map[string]int
}

// New returns a Reporter.
func New(opts Options) *Reporter {
	r := &Reporter{log: opts.Logger, count: opts.Count, every: opts.LogEvery, now: opts.Now, endpoints: map[string]int{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.every <= 0 {
		r.every = DefaultLogEvery
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// Report records one answer that endpoint gave because of err. The first
// answer of a burst is logged at once; later ones are counted and logged
// together with the first answer at least LogEvery after the last
// warning, as one warning whose count says how many answers it stands
// for. The error's text is logged (driver errors name no secret; the store
// never puts a token or password in one).
func (r *Reporter) Report(ctx context.Context, endpoint string, err error) {
	if r == nil {
		return
	}
	if r.count != nil {
		r.count(endpoint)
	}
	now := r.now()
	r.mu.Lock()
	r.unlogged++
	r.endpoints[endpoint]++
	if r.logged && now.Sub(r.last) < r.every {
		r.mu.Unlock()
		return
	}
	n, endpoints := r.unlogged, r.endpoints
	r.logged, r.last, r.unlogged, r.endpoints = true, now, 0, map[string]int{}
	r.mu.Unlock()
	attrs := []any{"answers", n, "retry_after_s", int(RetryAfter / time.Second)}
	for name, c := range endpoints {
		attrs = append(attrs, slog.Int("endpoint_"+name, c))
	}
	msg := "database unavailable: answering 503 temporarily_unavailable"
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	r.log.WarnContext(ctx, msg, attrs...)
}
