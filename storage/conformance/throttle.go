package conformance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

func throttleTests(t *testing.T, run func(t *testing.T, name string, fn func(t *testing.T, s storage.Store))) {
	run(t, "an add counts one event per counter and remembers the one before", testCounterAdd)
	run(t, "concurrent adds lose no event", testCounterConcurrent)
	run(t, "an ended window starts over; get leaves ended counters out", testCounterWindow)
	run(t, "delete and bounded collection of ended counters", testCounterDelete)
	run(t, "a known device is remembered per account until it expires", testKnownDevices)
}

// throttleNow is a time with milliseconds, the precision counters keep.
func throttleNow() time.Time { return time.Date(2031, 5, 6, 7, 8, 9, 123_000_000, time.UTC) }

func testCounterAdd(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := throttleNow()
	got, err := s.AddCounters(ctx, now, []storage.CounterAdd{{ID: "b", Window: time.Hour}, {ID: "a", Window: time.Minute}})
	must(t, err)
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "a" {
		t.Fatalf("counters = %+v, want b then a", got)
	}
	for _, c := range got {
		if c.Hits != 1 || !c.Prev.IsZero() || !c.Last.Equal(now) {
			t.Errorf("first add: %+v", c)
		}
	}
	if !got[0].Expires.Equal(now.Add(time.Hour)) || !got[1].Expires.Equal(now.Add(time.Minute)) {
		t.Errorf("expiries %v, %v", got[0].Expires, got[1].Expires)
	}
	later := now.Add(1500 * time.Millisecond)
	got, err = s.AddCounters(ctx, later, []storage.CounterAdd{{ID: "a", Window: time.Minute}})
	must(t, err)
	if c := got[0]; c.Hits != 2 || !c.Prev.Equal(now) || !c.Last.Equal(later) || !c.Expires.Equal(now.Add(time.Minute)) {
		t.Errorf("second add: %+v (the window keeps its end)", c)
	}
	if got[0].Last.Location() != time.UTC {
		t.Errorf("times come back in %v, want UTC", got[0].Last.Location())
	}
}

func testCounterConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := throttleNow()
	const adders = 24
	var wg sync.WaitGroup
	errs := make([]error, adders)
	for i := range adders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half name the counters in the other order.
			adds := []storage.CounterAdd{{ID: "x", Window: time.Hour}, {ID: "y", Window: time.Hour}}
			if i%2 == 1 {
				adds[0], adds[1] = adds[1], adds[0]
			}
			_, errs[i] = s.AddCounters(ctx, now, adds)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	got, err := s.GetCounters(ctx, now, []string{"x", "y", "absent"})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("counters = %+v", got)
	}
	for _, c := range got {
		if c.Hits != adders {
			t.Errorf("%s has %d hits, want %d", c.ID, c.Hits, adders)
		}
	}
}

func testCounterWindow(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := throttleNow()
	for range 3 {
		_, err := s.AddCounters(ctx, now, []storage.CounterAdd{{ID: "w", Window: time.Minute}})
		must(t, err)
	}
	end := now.Add(time.Minute)
	if got, err := s.GetCounters(ctx, end.Add(-time.Millisecond), []string{"w"}); err != nil || len(got) != 1 || got[0].Hits != 3 {
		t.Fatalf("before the end: %+v, %v", got, err)
	}
	if got, err := s.GetCounters(ctx, end, []string{"w"}); err != nil || len(got) != 0 {
		t.Fatalf("at the end: %+v, %v; want none", got, err)
	}
	got, err := s.AddCounters(ctx, end, []storage.CounterAdd{{ID: "w", Window: time.Hour}})
	must(t, err)
	if c := got[0]; c.Hits != 1 || !c.Prev.IsZero() || !c.Expires.Equal(end.Add(time.Hour)) {
		t.Errorf("after the window: %+v, want a new window", c)
	}
}

func testCounterDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := throttleNow()
	var adds []storage.CounterAdd
	for _, id := range []string{"e1", "e2", "e3", "live"} {
		w := time.Second
		if id == "live" {
			w = time.Hour
		}
		adds = append(adds, storage.CounterAdd{ID: id, Window: w})
	}
	_, err := s.AddCounters(ctx, now, adds)
	must(t, err)
	must(t, s.DeleteCounters(ctx, []string{"e1", "absent"}))
	later := now.Add(time.Minute)
	n, err := s.DeleteExpiredCounters(ctx, later, 1)
	must(t, err)
	if n != 1 {
		t.Errorf("removed %d with a limit of 1", n)
	}
	n, err = s.DeleteExpiredCounters(ctx, later, 100)
	must(t, err)
	if n != 1 {
		t.Errorf("removed %d, want the last ended one", n)
	}
	got, err := s.GetCounters(ctx, now, []string{"e1", "e2", "e3", "live"})
	must(t, err)
	if len(got) != 1 || got[0].ID != "live" {
		t.Errorf("left %+v, want only live", got)
	}
}

func testKnownDevices(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := throttleNow()
	must(t, s.RememberDevice(ctx, "acct", "dev", now.Add(time.Hour)))
	must(t, s.RememberDevice(ctx, "acct", "old", now.Add(-time.Hour)))
	known := func(account, device string, at time.Time) bool {
		t.Helper()
		ok, err := s.IsKnownDevice(ctx, account, device, at)
		must(t, err)
		return ok
	}
	if !known("acct", "dev", now) {
		t.Error("remembered device not known")
	}
	if known("other", "dev", now) || known("acct", "other", now) || known("acct", "old", now) {
		t.Error("a device is known to another account, an unknown device is known, or an expired one")
	}
	// Remembering again extends it.
	must(t, s.RememberDevice(ctx, "acct", "dev", now.Add(48*time.Hour)))
	if !known("acct", "dev", now.Add(24*time.Hour)) {
		t.Error("a device remembered again expired at its first expiry")
	}
	n, err := s.DeleteExpiredDevices(ctx, now, 10)
	must(t, err)
	if n != 1 || !known("acct", "dev", now) {
		t.Errorf("collected %d, want the one expired record", n)
	}
}
