package storage

import (
	"context"
	"time"
)

// Job states.
const (
	JobQueued  = "queued"  // waiting for RunAt
	JobRunning = "running" // claimed by a worker until LeaseUntil
	JobDead    = "dead"    // failed for good: kept for inspection and replay
)

// Job is one unit of durable work: a mail to send, a webhook to deliver, a
// back-channel logout to post. It is written in the transaction of the
// change that caused it, and done at least once.
type Job struct {
	// ID is unique and sorts by creation (a UUIDv7).
	ID string
	// Kind names the handler.
	Kind string
	// Queue serializes jobs: of the jobs of one non-empty queue at most one
	// runs at a time, the earliest due first. Jobs of different queues, or
	// without one, run in parallel.
	Queue string
	// Payload is the handler's input (JSON).
	Payload []byte
	// State is one of the Job* states.
	State string
	// RunAt is when the job is next due.
	RunAt time.Time
	// Attempts counts the claims so far.
	Attempts int
	// LeaseUntil is when a claim lapses, so that a crashed worker's job is
	// taken up again.
	LeaseUntil time.Time
	// LastError is the last attempt's failure, for operators.
	LastError string
	CreatedAt time.Time
}

// JobStore keeps durable jobs.
type JobStore interface {
	// EnqueueJobs stores new jobs. It joins the transaction in ctx. A zero
	// RunAt or CreatedAt is now; State is set to JobQueued.
	EnqueueJobs(ctx context.Context, jobs ...Job) error
	// ClaimJobs leases up to limit due jobs of the kinds to a worker until
	// now+lease, and returns them with Attempts counted. A job is due when
	// queued and RunAt is not after now, or running and its lease lapsed.
	// Of a queue, only its earliest due job is claimed, and none while
	// another of its jobs holds a lease. On PostgreSQL, workers of several
	// replicas never claim the same job at once.
	ClaimJobs(ctx context.Context, kinds []string, now time.Time, lease time.Duration, limit int) ([]Job, error)
	// CompleteJob removes a done job. It joins the transaction in ctx.
	CompleteJob(ctx context.Context, id string) error
	// RetryJob puts a claimed job back in the queue, due at runAt.
	RetryJob(ctx context.Context, id string, runAt time.Time, lastError string) error
	// KillJob marks a job dead: failed for good.
	KillJob(ctx context.Context, id string, lastError string) error
	// ListJobs returns the jobs of a kind in a state, in ID order after
	// the page's cursor.
	ListJobs(ctx context.Context, kind, state string, page Page) ([]Job, error)
}
