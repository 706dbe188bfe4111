package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// eventRow is the events table: the audit log, and what webhooks deliver.
type eventRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Type      string    `gorm:"column:type"`
	Time      time.Time `gorm:"column:time"`
	Subject   string    `gorm:"column:subject"`
	ActorType string    `gorm:"column:actor_type"`
	ActorID   string    `gorm:"column:actor_id"`
	RequestID string    `gorm:"column:request_id"`
	Data      string    `gorm:"column:data"`
}

func (eventRow) TableName() string { return "events" }

func (r eventRow) toEvent() storage.Event {
	return storage.Event{
		ID: r.ID, Type: r.Type, Time: r.Time.UTC(), Subject: r.Subject,
		Actor:     storage.Actor{Type: r.ActorType, ID: r.ActorID},
		RequestID: r.RequestID, Data: json.RawMessage(r.Data),
	}
}

// InTx runs fn in one transaction; see storage.Transactor. On SQLite it
// holds the single write connection until it ends, so keep fn short and
// free of network calls.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	hooks := &commitHooks{}
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(context.WithValue(ctx, txKey{}, tx), commitHooksKey{}, hooks))
	})
	if err == nil {
		hooks.run()
	}
	return err
}

// AppendEvents stores events in the transaction in ctx, if any.
func (s *Store) AppendEvents(ctx context.Context, events ...storage.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]eventRow, len(events))
	for i, e := range events {
		if e.ID == "" || e.Type == "" {
			return fmt.Errorf("gormstore: append events: an event needs an ID and a type")
		}
		data := string(e.Data)
		if data == "" {
			data = "{}"
		}
		rows[i] = eventRow{
			ID: e.ID, Type: e.Type, Time: e.Time.UTC(), Subject: e.Subject,
			ActorType: e.Actor.Type, ActorID: e.Actor.ID, RequestID: e.RequestID, Data: data,
		}
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(rows, maxBatch).Error })
	return mapError("gormstore: append events", err)
}

// ListEvents returns events in ID order after the page's cursor.
func (s *Store) ListEvents(ctx context.Context, f storage.EventFilter, page storage.Page) ([]storage.Event, error) {
	q := s.reader(ctx).Model(&eventRow{})
	if f.Subject != "" {
		q = q.Where("subject = ?", f.Subject)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if !f.From.IsZero() {
		q = q.Where("time >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("time < ?", f.To.UTC())
	}
	if page.After != "" {
		q = q.Where("id > ?", page.After)
	}
	var rows []eventRow
	if err := q.Order("id").Limit(pageLimit(page)).Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list events", err)
	}
	out := make([]storage.Event, len(rows))
	for i, r := range rows {
		out[i] = r.toEvent()
	}
	return out, nil
}

// DeleteEventsBefore removes up to limit events older than the cut-off,
// oldest first.
func (s *Store) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	res := s.writer(ctx).Exec("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ? ORDER BY time LIMIT ?)", before.UTC(), limit)
	return res.RowsAffected, mapError("gormstore: delete old events", res.Error)
}

// pageLimit is a listing's page size: the page's limit, 100 by default,
// at most 1,000.
func pageLimit(page storage.Page) int {
	if page.Limit <= 0 || page.Limit > 1000 {
		return 100
	}
	return page.Limit
}
