package storage

import (
	"context"
	"time"
)

// Counter is one throttling counter (pkg/ratelimit): how many events (failed
// sign-ins, failed client authentications, registrations, …) its subject
// caused in the current window.
type Counter struct {
	// ID names the counter: its kind and a keyed hash of its subject.
	ID string
	// Hits is the number of events in the window, this one included.
	Hits int
	// Prev is the time of the event before the last one (zero for none);
	// Last the time of the last one.
	Prev time.Time
	Last time.Time
	// Expires ends the window: a later event starts a new one.
	Expires time.Time
}

// CounterAdd asks to count one event on a counter.
type CounterAdd struct {
	ID string
	// Window is how long a new window lasts from its first event.
	Window time.Duration
}

// CounterStore keeps throttling counters. Times are kept to the
// millisecond.
type CounterStore interface {
	// AddCounters counts one event at now on each counter, in one atomic
	// step per counter (concurrent adds lose no event), and returns the
	// counters as they are afterwards, in the order asked. A counter that
	// is absent or whose window ended starts a new window of its Window.
	// IDs must be distinct.
	AddCounters(ctx context.Context, now time.Time, adds []CounterAdd) ([]Counter, error)
	// GetCounters returns the counters among ids whose window has not
	// ended at now, in no particular order; absent ones are left out.
	GetCounters(ctx context.Context, now time.Time, ids []string) ([]Counter, error)
	// DeleteCounters removes counters; absent ones are no error.
	DeleteCounters(ctx context.Context, ids []string) error
	// DeleteExpiredCounters removes at most limit counters whose window
	// ended before now, and returns how many it removed.
	DeleteExpiredCounters(ctx context.Context, now time.Time, limit int) (int64, error)
}

// KnownDeviceStore remembers the browsers (by the hash of their device
// cookie) that signed in to an account, so that throttling can give them a
// budget of their own (pkg/ratelimit).
type KnownDeviceStore interface {
	// RememberDevice records that device signed in to account, until
	// expiresAt; remembering it again moves the expiry.
	RememberDevice(ctx context.Context, account, device string, expiresAt time.Time) error
	// IsKnownDevice reports whether device signed in to account and the
	// record has not expired at now.
	IsKnownDevice(ctx context.Context, account, device string, now time.Time) (bool, error)
	// DeleteExpiredDevices removes at most limit records that expired
	// before now, and returns how many it removed.
	DeleteExpiredDevices(ctx context.Context, now time.Time, limit int) (int64, error)
}

// ThrottleStore is what throttling keeps in the database.
type ThrottleStore interface {
	CounterStore
	KnownDeviceStore
}
