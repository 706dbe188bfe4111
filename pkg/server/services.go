package server

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// Services are the domain services that change customers and clients,
// each in one transaction with its events and jobs. The server and the
// command line build them with NewServices, so an operator's change is
// recorded and announced exactly as one made through the admin API.
type Services struct {
	Events   *events.Recorder
	Accounts *accounts.Service
	Clients  *clients.Service
	// Webhooks manages subscriptions; its Fanout is registered on Events,
	// so every recorded event is queued for delivery in its transaction.
	Webhooks *webhooks.Service
}

// NewServices builds the services over the store. notify, when not nil,
// wakes the job runner after a commit that enqueued jobs; the command line
// passes nil, and a running server's runner finds the jobs on its next
// poll.
func NewServices(cfg config.Config, store *gormstore.Store, secrets *secret.Keys, notify func()) *Services {
	hooks := webhooks.New(webhooks.Options{Store: store, Secrets: secrets, CheckURL: outboundURLCheck(cfg), Notify: notify})
	rec := events.NewRecorder(store, hooks.Fanout)
	return &Services{
		Events:   rec,
		Accounts: accounts.New(accounts.Options{Store: store, Events: rec, Secrets: secrets, Notify: notify}),
		Clients:  NewClientService(cfg, store, secrets),
		Webhooks: hooks,
	}
}

// jobsPollInterval is the longest a due job waits for the runner when no
// commit on this replica woke it (a job queued by another replica or the
// command line).
const jobsPollInterval = 200 * time.Millisecond

// Jobs returns the runner of the durable job queue.
func (s *Server) Jobs() *jobs.Runner { return s.jobs }

// runJobs runs the durable job queue until ctx ends.
func (s *Server) runJobs(ctx context.Context) {
	s.jobs.Run(ctx)
}
