package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// throttleCollectionInterval is how often ended throttling counters and
// expired known devices are deleted; throttleCollectionBatch bounds one
// delete, and throttleCollectionRounds the deletes of one run.
const (
	throttleCollectionInterval = time.Minute
	throttleCollectionBatch    = 10000
	throttleCollectionRounds   = 10
)

// newResolver builds the client-address resolver from the trusted proxies.
func newResolver(cfg config.Config) (*clientip.Resolver, error) {
	trusted, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	return clientip.New(trusted, cfg.TrustedProxyHeader), nil
}

// newLimiter builds the throttle, or returns nil when it is switched off.
// On PostgreSQL the counters are the database's, shared by every replica;
// on SQLite, where there is one server, they are in memory, which keeps
// them off the single write connection.
func newLimiter(cfg config.Config, store *gormstore.Store, secrets *secret.Keys, m *metrics) *ratelimit.Limiter {
	if !cfg.ThrottleEnabled {
		return nil
	}
	var counters storage.CounterStore = store
	if store.Kind() != gormstore.Postgres {
		counters = ratelimit.NewMemory(int(cfg.ThrottleMemoryCounters))
	}
	// Subjects are stored under a key of their own, derived from the CSRF
	// key with a label, so the tables hold no email or address.
	mac := hmac.New(sha256.New, secrets.CSRFKey())
	mac.Write([]byte("gatehouse throttle subjects"))
	return ratelimit.New(ratelimit.Options{
		Counters:   counters,
		Devices:    store,
		SubjectKey: mac.Sum(nil),
		Rules: ratelimit.Limits{
			AccountFailures:      int(cfg.ThrottleAccountFailures),
			AccountIPFailures:    int(cfg.ThrottleAccountIPFailures),
			IPFailures:           int(cfg.ThrottleIPFailures),
			DeviceFailures:       int(cfg.ThrottleDeviceFailures),
			ClientFailures:       int(cfg.ThrottleClientFailures),
			RegistrationsPerIP:   int(cfg.ThrottleRegistrationsPerIP),
			SecondFactorFailures: int(cfg.ThrottleMFAFailures),
			BackoffBase:          cfg.ThrottleBackoffBase,
			BackoffMax:           cfg.ThrottleBackoffMax,
		}.Rules(),
		OnThrottled: func(k ratelimit.Kind) { m.throttled.WithLabelValues(string(k)).Inc() },
	})
}

// collectThrottle deletes ended counters and expired known devices every
// throttleCollectionInterval, in bounded batches, until ctx ends.
func (s *Server) collectThrottle(ctx context.Context) {
	if s.limiter == nil {
		return
	}
	t := time.NewTicker(throttleCollectionInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.collectThrottleOnce(ctx); err != nil {
				s.log.Warn("collecting throttling counters failed", "error", err.Error())
			} else if n > 0 {
				s.log.Debug("collected throttling counters", "count", n)
			}
		}
	}
}

func (s *Server) collectThrottleOnce(ctx context.Context) (int64, error) {
	var total int64
	for range throttleCollectionRounds {
		n, err := s.limiter.Collect(ctx, throttleCollectionBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("collect: %w", err)
		}
		if n < throttleCollectionBatch {
			break
		}
	}
	return total, nil
}
