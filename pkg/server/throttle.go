package server

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/internal/clientip"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
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
// them off the single write connection: those are returned too, for the
// garbage collection to sweep.
func newLimiter(cfg config.Config, store *gormstore.Store, secrets *secret.Keys, m *metrics) (*ratelimit.Limiter, *ratelimit.Memory) {
	if !cfg.ThrottleEnabled {
		return nil, nil
	}
	var counters storage.CounterStore = store
	var memory *ratelimit.Memory
	if store.Kind() != gormstore.Postgres {
		memory = ratelimit.NewMemory(int(cfg.ThrottleMemoryCounters))
		counters = memory
	}
	// Subjects are stored under a key of their own, derived from the CSRF
	// key with a label, so the tables hold no email or address.
	mac := hmac.New(sha256.New, secrets.CSRFKey())
	mac.Write([]byte("gatehouse throttle subjects"))
	return ratelimit.New(ratelimit.Options{
		Counters:   counters,
		Devices:    store,
		SubjectKey: mac.Sum(nil),
		Rules: withPasskeyRules(withSelfServiceRules(ratelimit.Limits{
			AccountFailures:      int(cfg.ThrottleAccountFailures),
			AccountIPFailures:    int(cfg.ThrottleAccountIPFailures),
			IPFailures:           int(cfg.ThrottleIPFailures),
			DeviceFailures:       int(cfg.ThrottleDeviceFailures),
			ClientFailures:       int(cfg.ThrottleClientFailures),
			RegistrationsPerIP:   int(cfg.ThrottleRegistrationsPerIP),
			SecondFactorFailures: int(cfg.ThrottleMFAFailures),
			BackoffBase:          cfg.ThrottleBackoffBase,
			BackoffMax:           cfg.ThrottleBackoffMax,
		}.Rules(), cfg), cfg),
		OnThrottled: func(k ratelimit.Kind) { m.throttled.WithLabelValues(string(k)).Inc() },
	}), memory
}
