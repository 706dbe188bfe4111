package gormstore

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// counterRow is the throttle_counters table; times are Unix milliseconds.
type counterRow struct {
	ID        string `gorm:"column:id;primaryKey"`
	Hits      int    `gorm:"column:hits"`
	PrevMS    int64  `gorm:"column:prev_ms"`
	LastMS    int64  `gorm:"column:last_ms"`
	ExpiresMS int64  `gorm:"column:expires_ms"`
}

func (counterRow) TableName() string { return "throttle_counters" }

func (r counterRow) counter() storage.Counter {
	c := storage.Counter{ID: r.ID, Hits: r.Hits, Last: time.UnixMilli(r.LastMS).UTC(), Expires: time.UnixMilli(r.ExpiresMS).UTC()}
	if r.PrevMS != 0 {
		c.Prev = time.UnixMilli(r.PrevMS).UTC()
	}
	return c
}

// addCountersSQL counts an event on every row of its VALUES list in one
// statement: a new counter, or one whose window ended, starts over at one;
// a live one goes up by one and remembers its previous event. Every
// right-hand side reads the row as it was, in both dialects.
const addCountersSQL = ` ON CONFLICT (id) DO UPDATE SET
	hits = CASE WHEN throttle_counters.expires_ms <= excluded.last_ms THEN 1 ELSE throttle_counters.hits + 1 END,
	prev_ms = CASE WHEN throttle_counters.expires_ms <= excluded.last_ms THEN 0 ELSE throttle_counters.last_ms END,
	expires_ms = CASE WHEN throttle_counters.expires_ms <= excluded.last_ms THEN excluded.expires_ms ELSE throttle_counters.expires_ms END,
	last_ms = excluded.last_ms
RETURNING id, hits, prev_ms, last_ms, expires_ms`

// AddCounters counts one event on each counter in one INSERT … ON CONFLICT
// DO UPDATE … RETURNING statement. The rows are written in ID order, so
// that two concurrent adds on PostgreSQL lock them in the same order.
func (s *Store) AddCounters(ctx context.Context, now time.Time, adds []storage.CounterAdd) ([]storage.Counter, error) {
	if len(adds) == 0 {
		return nil, nil
	}
	nowMS := now.UnixMilli()
	order := make([]int, len(adds))
	for i := range order {
		order[i] = i
	}
	// A handful of counters: insertion sort keeps it allocation-free.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && adds[order[j]].ID < adds[order[j-1]].ID; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	var b strings.Builder
	b.WriteString("INSERT INTO throttle_counters (id, hits, prev_ms, last_ms, expires_ms) VALUES ")
	args := make([]any, 0, 3*len(adds))
	for n, i := range order {
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, 1, 0, ?, ?)")
		args = append(args, adds[i].ID, nowMS, now.Add(adds[i].Window).UnixMilli())
	}
	b.WriteString(addCountersSQL)
	var rows []counterRow
	if err := s.writer(ctx).Raw(b.String(), args...).Scan(&rows).Error; err != nil {
		return nil, mapError("gormstore: add counters", err)
	}
	byID := make(map[string]counterRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := make([]storage.Counter, len(adds))
	for i, a := range adds {
		out[i] = byID[a.ID].counter()
	}
	return out, nil
}

// GetCounters returns the live counters among ids.
func (s *Store) GetCounters(ctx context.Context, now time.Time, ids []string) ([]storage.Counter, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []counterRow
	err := s.reader(ctx).Where("id IN ? AND expires_ms > ?", ids, now.UnixMilli()).Find(&rows).Error
	if err != nil {
		return nil, mapError("gormstore: get counters", err)
	}
	out := make([]storage.Counter, len(rows))
	for i, r := range rows {
		out[i] = r.counter()
	}
	return out, nil
}

// DeleteCounters removes counters.
func (s *Store) DeleteCounters(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return mapError("gormstore: delete counters", s.writer(ctx).Exec("DELETE FROM throttle_counters WHERE id IN ?", ids).Error)
}

// DeleteExpiredCounters removes at most limit ended counters.
func (s *Store) DeleteExpiredCounters(ctx context.Context, now time.Time, limit int) (int64, error) {
	res := s.writer(ctx).Exec(`DELETE FROM throttle_counters WHERE id IN
		(SELECT id FROM throttle_counters WHERE expires_ms <= ? LIMIT ?)`, now.UnixMilli(), limit)
	if res.Error != nil {
		return 0, mapError("gormstore: delete expired counters", res.Error)
	}
	return res.RowsAffected, nil
}

// RememberDevice records, or extends, a known device.
func (s *Store) RememberDevice(ctx context.Context, account, device string, expiresAt time.Time) error {
	err := s.writer(ctx).Exec(`INSERT INTO known_devices (account, device, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (account, device) DO UPDATE SET expires_at = excluded.expires_at`, account, device, expiresAt.UTC()).Error
	return mapError("gormstore: remember device", err)
}

// IsKnownDevice reports whether a live record of the device exists.
func (s *Store) IsKnownDevice(ctx context.Context, account, device string, now time.Time) (bool, error) {
	var n int64
	err := s.reader(ctx).Raw("SELECT COUNT(*) FROM known_devices WHERE account = ? AND device = ? AND expires_at > ?",
		account, device, now.UTC()).Scan(&n).Error
	if err != nil {
		return false, mapError("gormstore: known device", err)
	}
	return n > 0, nil
}

// DeleteExpiredDevices removes at most limit expired records.
func (s *Store) DeleteExpiredDevices(ctx context.Context, now time.Time, limit int) (int64, error) {
	res := s.writer(ctx).Exec(`DELETE FROM known_devices WHERE (account, device) IN
		(SELECT account, device FROM known_devices WHERE expires_at < ? LIMIT ?)`, now.UTC(), limit)
	if res.Error != nil {
		return 0, mapError("gormstore: delete expired devices", res.Error)
	}
	return res.RowsAffected, nil
}
