package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// mfaDeviceTests are the rules of browsers remembered for the second
// factor: one row per ID, replaced; expired ones not found; each
// customer's own.
func mfaDeviceTests(t *testing.T, run func(*testing.T, string, func(*testing.T, storage.Store))) {
	run(t, "a remembered device round-trips in UTC, is replaced by its ID and not found once expired", testMFADeviceRoundTrip)
	run(t, "devices are each customer's own; forgetting one or all", testMFADeviceForget)
}

func testMFADeviceRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	d := storage.MFADevice{ID: "d1", UserID: "u1", UserAgent: "Firefox", IP: "203.0.113.9",
		VerifiedAt: now.In(time.FixedZone("x", 3600)), ExpiresAt: now.Add(24 * time.Hour)}
	must(t, s.PutMFADevice(ctx, d))
	got, err := s.GetMFADevice(ctx, "u1", "d1", now)
	must(t, err)
	if got.UserAgent != "Firefox" || got.IP != "203.0.113.9" || !got.VerifiedAt.Equal(now) || got.VerifiedAt.Location() != time.UTC || !got.ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("GetMFADevice = %+v", got)
	}
	// Remembered again: the same row, verified later.
	d.VerifiedAt, d.ExpiresAt, d.IP = now.Add(time.Hour), now.Add(48*time.Hour), "203.0.113.10"
	must(t, s.PutMFADevice(ctx, d))
	list, err := s.ListMFADevices(ctx, "u1", now)
	must(t, err)
	if len(list) != 1 || list[0].IP != "203.0.113.10" || !list[0].ExpiresAt.Equal(now.Add(48*time.Hour)) {
		t.Fatalf("ListMFADevices = %+v", list)
	}
	if _, err := s.GetMFADevice(ctx, "u1", "d1", now.Add(49*time.Hour)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an expired device: %v, want ErrNotFound", err)
	}
	if list, err := s.ListMFADevices(ctx, "u1", now.Add(49*time.Hour)); err != nil || len(list) != 0 {
		t.Errorf("expired devices listed: %+v %v", list, err)
	}
}

func testMFADeviceForget(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now()
	for _, d := range []storage.MFADevice{
		{ID: "a1", UserID: "u1", VerifiedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
		{ID: "a2", UserID: "u1", VerifiedAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "b1", UserID: "u2", VerifiedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		must(t, s.PutMFADevice(ctx, d))
	}
	list, err := s.ListMFADevices(ctx, "u1", now)
	must(t, err)
	if len(list) != 2 || list[0].ID != "a2" {
		t.Fatalf("ListMFADevices = %+v, want a2 then a1", list)
	}
	if _, err := s.GetMFADevice(ctx, "u2", "a1", now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another customer's device found: %v", err)
	}
	if err := s.DeleteMFADevice(ctx, "u2", "a1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("forgetting another customer's device: %v, want ErrNotFound", err)
	}
	must(t, s.DeleteMFADevice(ctx, "u1", "a1"))
	n, err := s.DeleteMFADevices(ctx, "u1")
	if err != nil || n != 1 {
		t.Fatalf("DeleteMFADevices = %d %v, want 1", n, err)
	}
	if _, err := s.GetMFADevice(ctx, "u2", "b1", now); err != nil {
		t.Errorf("the other customer's device went too: %v", err)
	}
}
