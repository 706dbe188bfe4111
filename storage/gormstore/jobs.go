package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// jobRow is the jobs table: the one durable queue for mail, webhooks and
// back-channel logouts.
type jobRow struct {
	ID         string       `gorm:"column:id;primaryKey"`
	Kind       string       `gorm:"column:kind"`
	Queue      string       `gorm:"column:queue"`
	Payload    string       `gorm:"column:payload"`
	State      string       `gorm:"column:state"`
	RunAt      time.Time    `gorm:"column:run_at"`
	Attempts   int          `gorm:"column:attempts"`
	LeaseUntil sql.NullTime `gorm:"column:lease_until"`
	LastError  string       `gorm:"column:last_error"`
	CreatedAt  time.Time    `gorm:"column:created_at"`
}

func (jobRow) TableName() string { return "jobs" }

func (r jobRow) toJob() storage.Job {
	j := storage.Job{
		ID: r.ID, Kind: r.Kind, Queue: r.Queue, Payload: []byte(r.Payload), State: r.State,
		RunAt: r.RunAt.UTC(), Attempts: r.Attempts, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.LeaseUntil.Valid {
		j.LeaseUntil = r.LeaseUntil.Time.UTC()
	}
	return j
}

// EnqueueJobs stores new jobs, in the transaction in ctx if any.
func (s *Store) EnqueueJobs(ctx context.Context, jobs ...storage.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([]jobRow, len(jobs))
	for i, j := range jobs {
		if j.ID == "" || j.Kind == "" {
			return fmt.Errorf("gormstore: enqueue jobs: a job needs an ID and a kind")
		}
		if j.CreatedAt.IsZero() {
			j.CreatedAt = now
		}
		if j.RunAt.IsZero() {
			j.RunAt = j.CreatedAt
		}
		rows[i] = jobRow{
			ID: j.ID, Kind: j.Kind, Queue: j.Queue, Payload: string(j.Payload), State: storage.JobQueued,
			RunAt: j.RunAt.UTC(), Attempts: j.Attempts, LastError: j.LastError, CreatedAt: j.CreatedAt.UTC(),
		}
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(rows, maxBatch).Error })
	return mapError("gormstore: enqueue jobs", err)
}

// ClaimJobs leases due jobs; see storage.JobStore. One statement: the
// subquery picks the due jobs (on PostgreSQL skipping rows another worker
// holds, so two replicas never claim one job), the update leases them.
func (s *Store) ClaimJobs(ctx context.Context, kinds []string, now time.Time, lease time.Duration, limit int) ([]storage.Job, error) {
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	now = now.UTC()
	due := `((%[1]s.state = 'queued' AND %[1]s.run_at <= @now) OR (%[1]s.state = 'running' AND %[1]s.lease_until <= @now))`
	lock := ""
	if s.kind == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	query := `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = @lease
		WHERE id IN (
			SELECT j.id FROM jobs j
			WHERE j.kind IN @kinds AND ` + fmt.Sprintf(due, "j") + `
			AND (j.queue = '' OR (
				NOT EXISTS (SELECT 1 FROM jobs r WHERE r.queue = j.queue AND r.id <> j.id AND r.state = 'running' AND r.lease_until > @now)
				AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.queue = j.queue AND e.id < j.id AND ` + fmt.Sprintf(due, "e") + `)))
			ORDER BY j.run_at, j.id LIMIT @limit` + lock + `)
		RETURNING id, kind, queue, payload, state, run_at, attempts, lease_until, last_error, created_at`
	var rows []jobRow
	err := s.writer(ctx).Raw(query, map[string]any{
		"now": now, "lease": now.Add(lease), "kinds": kinds, "limit": limit,
	}).Scan(&rows).Error
	if err != nil {
		return nil, mapError("gormstore: claim jobs", err)
	}
	// RETURNING does not keep the subquery's order.
	slices.SortFunc(rows, func(a, b jobRow) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]storage.Job, len(rows))
	for i, r := range rows {
		out[i] = r.toJob()
	}
	return out, nil
}

// CompleteJob removes a done job.
func (s *Store) CompleteJob(ctx context.Context, id string) error {
	return s.updateJob(ctx, "complete", "DELETE FROM jobs WHERE id = ?", id)
}

// RetryJob puts a job back in its queue, due at runAt.
func (s *Store) RetryJob(ctx context.Context, id string, runAt time.Time, lastError string) error {
	return s.updateJob(ctx, "retry", "UPDATE jobs SET state = 'queued', run_at = ?, lease_until = NULL, last_error = ? WHERE id = ?",
		runAt.UTC(), truncateError(lastError), id)
}

// KillJob marks a job dead.
func (s *Store) KillJob(ctx context.Context, id string, lastError string) error {
	return s.updateJob(ctx, "kill", "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = ? WHERE id = ?",
		truncateError(lastError), id)
}

func (s *Store) updateJob(ctx context.Context, op, query string, args ...any) error {
	res := s.writer(ctx).Exec(query, args...)
	if res.Error != nil {
		return mapError("gormstore: "+op+" job", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: %s job: %w", op, storage.ErrNotFound)
	}
	return nil
}

// ListJobs returns the jobs of a kind in a state, in ID order.
func (s *Store) ListJobs(ctx context.Context, kind, state string, page storage.Page) ([]storage.Job, error) {
	q := s.reader(ctx).Where("kind = ? AND state = ?", kind, state)
	if page.After != "" {
		q = q.Where("id > ?", page.After)
	}
	var rows []jobRow
	if err := q.Order("id").Limit(pageLimit(page)).Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list jobs", err)
	}
	out := make([]storage.Job, len(rows))
	for i, r := range rows {
		out[i] = r.toJob()
	}
	return out, nil
}

// truncateError keeps a job's last error to a size an operator reads.
func truncateError(s string) string {
	const max = 1000
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "")
}
