package gormstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// webhookRow is the webhooks table: the subscriptions.
type webhookRow struct {
	ID                   string       `gorm:"column:id;primaryKey"`
	URL                  string       `gorm:"column:url"`
	EventTypes           string       `gorm:"column:event_types"`
	Enabled              bool         `gorm:"column:enabled"`
	SealedSecret         []byte       `gorm:"column:sealed_secret"`
	SealedPreviousSecret []byte       `gorm:"column:sealed_previous_secret"`
	PreviousSecretUntil  sql.NullTime `gorm:"column:previous_secret_until"`
	Sequence             int64        `gorm:"column:sequence"`
	CreatedAt            time.Time    `gorm:"column:created_at"`
	UpdatedAt            time.Time    `gorm:"column:updated_at"`
}

func (webhookRow) TableName() string { return "webhooks" }

func (r webhookRow) toWebhook() (storage.Webhook, error) {
	w := storage.Webhook{
		ID: r.ID, URL: r.URL, Enabled: r.Enabled, SealedSecret: r.SealedSecret,
		SealedPreviousSecret: r.SealedPreviousSecret, Sequence: r.Sequence,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.PreviousSecretUntil.Valid {
		w.PreviousSecretUntil = r.PreviousSecretUntil.Time.UTC()
	}
	if err := json.Unmarshal([]byte(r.EventTypes), &w.EventTypes); err != nil {
		return w, fmt.Errorf("webhook %s: event types: %w", r.ID, err)
	}
	if len(w.EventTypes) == 0 {
		w.EventTypes = nil
	}
	return w, nil
}

func toWebhookRow(w storage.Webhook) (webhookRow, error) {
	types := w.EventTypes
	if types == nil {
		types = []string{}
	}
	raw, err := json.Marshal(types)
	if err != nil {
		return webhookRow{}, err
	}
	r := webhookRow{
		ID: w.ID, URL: w.URL, EventTypes: string(raw), Enabled: w.Enabled, SealedSecret: w.SealedSecret,
		SealedPreviousSecret: w.SealedPreviousSecret, Sequence: w.Sequence,
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
	}
	if !w.PreviousSecretUntil.IsZero() {
		r.PreviousSecretUntil = sql.NullTime{Time: w.PreviousSecretUntil.UTC(), Valid: true}
	}
	return r, nil
}

// webhookDeliveryRow is the webhook_deliveries table.
type webhookDeliveryRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	WebhookID string    `gorm:"column:webhook_id"`
	EventID   string    `gorm:"column:event_id"`
	EventType string    `gorm:"column:event_type"`
	Sequence  int64     `gorm:"column:sequence"`
	Replay    bool      `gorm:"column:replay"`
	Succeeded bool      `gorm:"column:succeeded"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (webhookDeliveryRow) TableName() string { return "webhook_deliveries" }

// webhookAttemptRow is the webhook_attempts table.
type webhookAttemptRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	DeliveryID string    `gorm:"column:delivery_id"`
	WebhookID  string    `gorm:"column:webhook_id"`
	EventID    string    `gorm:"column:event_id"`
	Time       time.Time `gorm:"column:time"`
	StatusCode int       `gorm:"column:status_code"`
	Error      string    `gorm:"column:error"`
	DurationMS int64     `gorm:"column:duration_ms"`
}

func (webhookAttemptRow) TableName() string { return "webhook_attempts" }

// CreateWebhook stores a new subscription.
func (s *Store) CreateWebhook(ctx context.Context, w storage.Webhook) error {
	now := time.Now().UTC()
	if w.CreatedAt.IsZero() {
		w.CreatedAt = now
	}
	w.UpdatedAt = w.CreatedAt
	row, err := toWebhookRow(w)
	if err != nil {
		return fmt.Errorf("gormstore: create webhook: %w", err)
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error })
	return mapError("gormstore: create webhook", err)
}

// GetWebhook returns the subscription, or storage.ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (storage.Webhook, error) {
	var row webhookRow
	if err := s.reader(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return storage.Webhook{}, mapError("gormstore: get webhook", err)
	}
	return row.toWebhook()
}

// ListWebhooks returns subscriptions in ID order after the cursor.
func (s *Store) ListWebhooks(ctx context.Context, page storage.Page) ([]storage.Webhook, error) {
	q := s.reader(ctx)
	if page.After != "" {
		q = q.Where("id > ?", page.After)
	}
	var rows []webhookRow
	if err := q.Order("id").Limit(pageLimit(page)).Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list webhooks", err)
	}
	return toWebhooks(rows)
}

func toWebhooks(rows []webhookRow) ([]storage.Webhook, error) {
	out := make([]storage.Webhook, len(rows))
	for i, r := range rows {
		w, err := r.toWebhook()
		if err != nil {
			return nil, fmt.Errorf("gormstore: %w", err)
		}
		out[i] = w
	}
	return out, nil
}

// UpdateWebhook applies update to the stored subscription in one
// transaction; the ID, sequence and creation time are kept. Disabling a
// subscription drops its queued deliveries.
func (s *Store) UpdateWebhook(ctx context.Context, id string, update func(storage.Webhook) (storage.Webhook, error)) (storage.Webhook, error) {
	var out storage.Webhook
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var row webhookRow
		q := tx
		if s.kind == Postgres {
			q = q.Clauses(lockForUpdate)
		}
		if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		old, err := row.toWebhook()
		if err != nil {
			return err
		}
		updated, err := update(old)
		if err != nil {
			return err
		}
		updated.ID, updated.Sequence, updated.CreatedAt, updated.UpdatedAt = old.ID, old.Sequence, old.CreatedAt, time.Now().UTC()
		newRow, err := toWebhookRow(updated)
		if err != nil {
			return err
		}
		out = updated
		if err := tx.Select("*").Save(&newRow).Error; err != nil {
			return err
		}
		if old.Enabled && !updated.Enabled {
			// Disabled: its queued deliveries are dropped (a running one
			// finds the subscription disabled and drops itself).
			return tx.Exec("DELETE FROM jobs WHERE queue = ? AND state = ?", id, storage.JobQueued).Error
		}
		return nil
	})
	return out, mapError("gormstore: update webhook", err)
}

// DeleteWebhook removes the subscription with its deliveries, attempts and
// jobs, in one transaction.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&webhookRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		for _, q := range []string{
			"DELETE FROM webhook_attempts WHERE webhook_id = ?",
			"DELETE FROM webhook_deliveries WHERE webhook_id = ?",
			// A subscription's ID is its deliveries' queue.
			"DELETE FROM jobs WHERE queue = ?",
		} {
			if err := tx.Exec(q, id).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return mapError("gormstore: delete webhook", err)
}

// EnabledWebhooks returns every enabled subscription, in one query.
func (s *Store) EnabledWebhooks(ctx context.Context) ([]storage.Webhook, error) {
	var rows []webhookRow
	if err := s.reader(ctx).Where("enabled = ?", true).Order("id").Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: enabled webhooks", err)
	}
	return toWebhooks(rows)
}

// NextWebhookSequence adds n to the subscription's sequence and returns the
// new value. The update holds the row until the transaction ends.
func (s *Store) NextWebhookSequence(ctx context.Context, id string, n int) (int64, error) {
	var seq []int64
	err := s.writer(ctx).Raw("UPDATE webhooks SET sequence = sequence + ? WHERE id = ? RETURNING sequence", n, id).Scan(&seq).Error
	if err != nil {
		return 0, mapError("gormstore: next webhook sequence", err)
	}
	if len(seq) == 0 {
		return 0, fmt.Errorf("gormstore: next webhook sequence: %w", storage.ErrNotFound)
	}
	return seq[0], nil
}

// AddWebhookDeliveries stores new deliveries.
func (s *Store) AddWebhookDeliveries(ctx context.Context, deliveries ...storage.WebhookDelivery) error {
	if len(deliveries) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([]webhookDeliveryRow, len(deliveries))
	for i, d := range deliveries {
		if d.CreatedAt.IsZero() {
			d.CreatedAt = now
		}
		rows[i] = webhookDeliveryRow{
			ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType,
			Sequence: d.Sequence, Replay: d.Replay, CreatedAt: d.CreatedAt.UTC(),
		}
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(rows, maxBatch).Error })
	return mapError("gormstore: add webhook deliveries", err)
}

// RecordWebhookAttempt stores an attempt and marks its delivery succeeded
// when it did.
func (s *Store) RecordWebhookAttempt(ctx context.Context, a storage.WebhookAttempt, succeeded bool) error {
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	row := webhookAttemptRow{
		ID: uuid.Must(uuid.NewV7()).String(), DeliveryID: a.DeliveryID, WebhookID: a.WebhookID, EventID: a.EventID,
		Time: a.Time.UTC(), StatusCode: a.StatusCode, Error: truncateError(a.Error), DurationMS: a.Duration.Milliseconds(),
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if !succeeded {
			return nil
		}
		return tx.Exec("UPDATE webhook_deliveries SET succeeded = ? WHERE id = ?", true, a.DeliveryID).Error
	})
	return mapError("gormstore: record webhook attempt", err)
}

// deliveryListRow is a delivery with its job's state, if the job is left.
type deliveryListRow struct {
	ID        string       `gorm:"column:id"`
	WebhookID string       `gorm:"column:webhook_id"`
	EventID   string       `gorm:"column:event_id"`
	EventType string       `gorm:"column:event_type"`
	Sequence  int64        `gorm:"column:sequence"`
	Replay    bool         `gorm:"column:replay"`
	Succeeded bool         `gorm:"column:succeeded"`
	CreatedAt time.Time    `gorm:"column:created_at"`
	JobState  string       `gorm:"column:job_state"`
	JobRunAt  sql.NullTime `gorm:"column:job_run_at"`
}

// ListWebhookDeliveries returns a subscription's deliveries in ID order,
// with their attempts and states: succeeded when an attempt was answered
// 2xx, else pending or dead as the job is, else dropped (the job was done
// without sending, the subscription being disabled).
func (s *Store) ListWebhookDeliveries(ctx context.Context, webhookID string, page storage.Page) ([]storage.WebhookDelivery, error) {
	q := s.reader(ctx).Table("webhook_deliveries d").
		Select("d.*, COALESCE(j.state, '') AS job_state, j.run_at AS job_run_at").
		Joins("LEFT JOIN jobs j ON j.id = d.id").
		Where("d.webhook_id = ?", webhookID)
	if page.After != "" {
		q = q.Where("d.id > ?", page.After)
	}
	var rows []deliveryListRow
	if err := q.Order("d.id").Limit(pageLimit(page)).Scan(&rows).Error; err != nil {
		return nil, mapError("gormstore: list webhook deliveries", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var attempts []webhookAttemptRow
	if err := s.reader(ctx).Where("delivery_id IN ?", ids).Order("id").Find(&attempts).Error; err != nil {
		return nil, mapError("gormstore: list webhook attempts", err)
	}
	byDelivery := map[string][]storage.WebhookAttempt{}
	for _, a := range attempts {
		byDelivery[a.DeliveryID] = append(byDelivery[a.DeliveryID], storage.WebhookAttempt{
			DeliveryID: a.DeliveryID, WebhookID: a.WebhookID, EventID: a.EventID, Time: a.Time.UTC(),
			StatusCode: a.StatusCode, Error: a.Error, Duration: time.Duration(a.DurationMS) * time.Millisecond,
		})
	}
	out := make([]storage.WebhookDelivery, len(rows))
	for i, r := range rows {
		d := storage.WebhookDelivery{
			ID: r.ID, WebhookID: r.WebhookID, EventID: r.EventID, EventType: r.EventType, Sequence: r.Sequence,
			CreatedAt: r.CreatedAt.UTC(), Replay: r.Replay, Attempts: byDelivery[r.ID],
		}
		switch {
		case r.Succeeded:
			d.State = storage.DeliverySucceeded
		case r.JobState == storage.JobDead:
			d.State = storage.DeliveryDead
		case r.JobState != "":
			d.State = storage.DeliveryPending
			if r.JobRunAt.Valid {
				d.NextAttemptAt = r.JobRunAt.Time.UTC()
			}
		default:
			d.State = storage.DeliveryDropped
		}
		out[i] = d
	}
	return out, nil
}

// DeleteWebhookAttemptsBefore removes up to limit attempts older than the
// cut-off, oldest first, and up to limit deliveries created before it whose
// job is gone (succeeded or dropped; dead and pending ones are kept).
func (s *Store) DeleteWebhookAttemptsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	before = before.UTC()
	res := s.writer(ctx).Exec("DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE time < ? ORDER BY time LIMIT ?)", before, limit)
	if res.Error != nil {
		return 0, mapError("gormstore: delete old webhook attempts", res.Error)
	}
	n := res.RowsAffected
	res = s.writer(ctx).Exec(`DELETE FROM webhook_deliveries WHERE id IN (
		SELECT d.id FROM webhook_deliveries d WHERE d.created_at < ?
		AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = d.id)
		AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = d.id)
		ORDER BY d.created_at LIMIT ?)`, before, limit)
	return n + res.RowsAffected, mapError("gormstore: delete old webhook deliveries", res.Error)
}

// EventByID returns the recorded event with the ID, or storage.ErrNotFound,
// for a replay of one event.
func (s *Store) EventByID(ctx context.Context, id string) (storage.Event, error) {
	var row eventRow
	if err := s.reader(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return storage.Event{}, mapError("gormstore: event by id", err)
	}
	return row.toEvent(), nil
}
