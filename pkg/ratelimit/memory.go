package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Memory is a storage.CounterStore in this process's memory, for a single
// replica (SQLite) and tests. It holds at most its capacity of counters:
// when full it first drops ended ones, then the one with the fewest events
// among a few picked at random, so that a flood of new subjects cannot
// push out the counters of an attack under way.
type Memory struct {
	mu       sync.Mutex
	capacity int
	counters map[string]*storage.Counter
}

// evictionSample is how many counters a full Memory looks at to pick the
// one to drop.
const evictionSample = 8

// NewMemory returns an empty Memory holding at most capacity counters
// (at least 1).
func NewMemory(capacity int) *Memory {
	return &Memory{capacity: max(capacity, 1), counters: make(map[string]*storage.Counter)}
}

// Len returns the number of counters held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.counters)
}

// AddCounters counts one event on each counter.
func (m *Memory) AddCounters(_ context.Context, now time.Time, adds []storage.CounterAdd) ([]storage.Counter, error) {
	now = now.Truncate(time.Millisecond).UTC()
	out := make([]storage.Counter, len(adds))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range adds {
		c, ok := m.counters[a.ID]
		switch {
		case !ok:
			if len(m.counters) >= m.capacity {
				m.makeRoom(now)
			}
			c = &storage.Counter{ID: a.ID, Hits: 1, Last: now, Expires: now.Add(a.Window)}
			m.counters[a.ID] = c
		case !now.Before(c.Expires):
			*c = storage.Counter{ID: a.ID, Hits: 1, Last: now, Expires: now.Add(a.Window)}
		default:
			c.Hits++
			c.Prev, c.Last = c.Last, now
		}
		out[i] = *c
	}
	return out, nil
}

// makeRoom drops ended counters, or, when none has ended, the one with the
// fewest events among a sample. The caller holds the lock.
func (m *Memory) makeRoom(now time.Time) {
	if m.sweep(now, len(m.counters)) > 0 {
		return
	}
	var victim *storage.Counter
	n := 0
	for _, c := range m.counters { // map order is random
		if victim == nil || c.Hits < victim.Hits {
			victim = c
		}
		if n++; n == evictionSample {
			break
		}
	}
	if victim != nil {
		delete(m.counters, victim.ID)
	}
}

func (m *Memory) sweep(now time.Time, limit int) int64 {
	var n int64
	for id, c := range m.counters {
		if n == int64(limit) {
			break
		}
		if !now.Before(c.Expires) {
			delete(m.counters, id)
			n++
		}
	}
	return n
}

// GetCounters returns the live counters among ids.
func (m *Memory) GetCounters(_ context.Context, now time.Time, ids []string) ([]storage.Counter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.Counter
	for _, id := range ids {
		if c, ok := m.counters[id]; ok && now.Before(c.Expires) {
			out = append(out, *c)
		}
	}
	return out, nil
}

// DeleteCounters removes counters.
func (m *Memory) DeleteCounters(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.counters, id)
	}
	return nil
}

// DeleteExpiredCounters removes at most limit ended counters.
func (m *Memory) DeleteExpiredCounters(_ context.Context, now time.Time, limit int) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sweep(now, limit), nil
}
