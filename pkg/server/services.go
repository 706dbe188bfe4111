package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// Services are the domain services that change customers, clients and
// keys, each change in one transaction with its events and jobs. The
// server and the command line build them with NewServices, so an
// operator's change is recorded and announced exactly as one made through
// the admin API.
type Services struct {
	Events *events.Recorder
	// Identity checks and hashes passwords; it records nothing itself.
	Identity *identity.Service
	Accounts *accounts.Service
	Clients  *clients.Service
	// Keys is the signing-key manager; the server also serves from it.
	Keys *keys.Manager
	// Webhooks manages subscriptions; its Fanout is registered on Events,
	// so every recorded event is queued for delivery in its transaction.
	Webhooks *webhooks.Service
	// Mail queues mails in the caller's transaction (Mail.Queue); the
	// server's job runner sends them.
	Mail *mail.Service
	// MFA keeps customers' second factors. NewServices builds it without
	// throttling (the command line's reset needs none); the server
	// replaces it with one throttled by its limiter.
	MFA *mfa.Service
}

// NewServices builds the services over the store. notify, when not nil,
// wakes the job runner after a commit that enqueued jobs; the command line
// passes nil, and a running server's runner finds the jobs on its next
// poll. It fails when the mail templates are missing or broken.
func NewServices(cfg config.Config, store *gormstore.Store, secrets *secret.Keys, log *slog.Logger, notify func()) (*Services, error) {
	hooks := webhooks.New(webhooks.Options{Store: store, Secrets: secrets, CheckURL: outboundURLCheck(cfg), Notify: notify})
	rec := events.NewRecorder(store, hooks.Fanout)
	people := identity.NewService(store, identity.Argon2Params{
		MemoryKiB:   uint32(cfg.Argon2MemoryKiB),
		Iterations:  uint32(cfg.Argon2Iterations),
		Parallelism: uint8(cfg.Argon2Parallelism),
	}, PasswordPolicy(cfg))
	mailer, err := newMail(cfg, store, secrets, log)
	if err != nil {
		return nil, err
	}
	attrs, err := cfg.AttributeSet()
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	return &Services{
		Events:   rec,
		Identity: people,
		Accounts: accounts.New(accounts.Options{Store: store, Events: rec, Secrets: secrets, Identity: people, Notify: notify, Mail: mailer, Attributes: attrs}),
		Clients:  newClientService(cfg, store, secrets, rec),
		Keys:     keys.NewManager(store, secrets, keys.Options{RefreshInterval: cfg.KeysRefreshInterval, Logger: log, Events: rec}),
		Webhooks: hooks,
		Mail:     mailer,
		MFA:      newMFA(cfg, store, rec, secrets, nil, nil, log),
	}, nil
}

// newMFA builds the second-factor service. Authenticator apps show the
// issuer's host as the account's service.
func newMFA(cfg config.Config, store *gormstore.Store, sink events.Sink, secrets *secret.Keys, limiter *ratelimit.Limiter, now func() time.Time, log *slog.Logger) *mfa.Service {
	name := cfg.Issuer
	if u, err := url.Parse(cfg.Issuer); err == nil && u.Host != "" {
		name = u.Host
	}
	return mfa.New(mfa.Options{
		Store: store, Events: sink, Secrets: secrets, Throttle: limiter, Issuer: name, Now: now, Logger: log,
		// The hook for the "a recovery code was used" mail, once pkg/mail
		// exists; the use is logged and recorded as an event already.
		OnRecoveryCodeUsed: nil,
		RememberDevice:     time.Duration(cfg.MFARememberDeviceDays) * 24 * time.Hour,
	})
}

// jobsPollInterval is the longest a due job waits for the runner when no
// commit on this replica woke it (a job queued by another replica or the
// command line).
const jobsPollInterval = 200 * time.Millisecond

// Services returns the domain services the server was built with: what
// the pages and the admin API call, Mail among them.
func (s *Server) Services() *Services { return s.services }

// Jobs returns the runner of the durable job queue.
func (s *Server) Jobs() *jobs.Runner { return s.jobs }

// runJobs runs the durable job queue until ctx ends.
func (s *Server) runJobs(ctx context.Context) {
	s.jobs.Run(ctx)
}

// WithMFAClock sets the clock that second-factor codes are checked
// against, for tests that compute codes at chosen times (RFC 6238 steps).
func WithMFAClock(now func() time.Time) Option {
	return func(o *options) { o.mfaClock = now }
}
