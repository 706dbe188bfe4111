package conformance

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// sampleSession returns a session that began at start (truncated to the
// microsecond, which every database keeps) and lasts a day.
func sampleSession(id string, start time.Time) storage.BrowserSession {
	start = start.Truncate(time.Microsecond)
	return storage.BrowserSession{
		ID:         id,
		SID:        "sid-" + id,
		UserID:     "u1",
		AuthTime:   start.Truncate(time.Second),
		AMR:        []string{"pwd", "otp"},
		ACR:        "urn:gatehouse:acr:mfa",
		CreatedAt:  start,
		LastSeenAt: start,
		ExpiresAt:  start.Add(24 * time.Hour),
	}
}

func testSessionLifecycle(t *testing.T, s storage.Store) {
	ctx := context.Background()
	// Times in another zone must come back as the same instants in UTC.
	start := time.Now().In(time.FixedZone("UTC+9", 9*3600))
	want := sampleSession("hash-1", start)
	must(t, s.CreateSession(ctx, want))
	got, err := s.GetSession(ctx, "hash-1")
	must(t, err)
	for name, tm := range map[string]time.Time{"AuthTime": got.AuthTime, "CreatedAt": got.CreatedAt, "LastSeenAt": got.LastSeenAt, "ExpiresAt": got.ExpiresAt} {
		if tm.Location() != time.UTC {
			t.Errorf("%s not in UTC: %v", name, tm.Location())
		}
	}
	if !sameSession(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}

	seen := want.LastSeenAt.Add(90 * time.Second)
	must(t, s.TouchSession(ctx, "hash-1", seen))
	got, err = s.GetSession(ctx, "hash-1")
	must(t, err)
	if !got.LastSeenAt.Equal(seen) {
		t.Errorf("LastSeenAt = %v after touch, want %v", got.LastSeenAt, seen)
	}

	must(t, s.AddSessionClient(ctx, "hash-1", "client-b"))
	must(t, s.AddSessionClient(ctx, "hash-1", "client-a"))
	must(t, s.CreateSession(ctx, sampleSession("hash-2", start)))
	must(t, s.AddSessionClient(ctx, "hash-2", "client-c"))

	ended, clients, err := s.DeleteSession(ctx, "hash-1")
	must(t, err)
	if ended.ID != "hash-1" || ended.SID != "sid-hash-1" || !ended.LastSeenAt.Equal(seen) {
		t.Errorf("deleted session = %+v", ended)
	}
	if want := []string{"client-a", "client-b"}; !reflect.DeepEqual(clients, want) {
		t.Errorf("clients = %v, want %v", clients, want)
	}
	if _, err := s.GetSession(ctx, "hash-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("session after delete: %v, want ErrNotFound", err)
	}
	if _, _, err := s.DeleteSession(ctx, "hash-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if err := s.TouchSession(ctx, "hash-1", seen); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("touching a deleted session: %v, want ErrNotFound", err)
	}
	if err := s.AddSessionClient(ctx, "hash-1", "client-a"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("adding a client to a deleted session: %v, want ErrNotFound", err)
	}
	// The other session keeps its client.
	if _, clients, err := s.DeleteSession(ctx, "hash-2"); err != nil || !reflect.DeepEqual(clients, []string{"client-c"}) {
		t.Errorf("other session's clients = %v, %v; want [client-c]", clients, err)
	}
}

func testSessionDuplicate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateSession(ctx, sampleSession("hash-1", time.Now())))
	if err := s.CreateSession(ctx, sampleSession("hash-1", time.Now())); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken id: %v, want ErrAlreadyExists", err)
	}
	other := sampleSession("hash-2", time.Now())
	other.SID = "sid-hash-1"
	if err := s.CreateSession(ctx, other); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken sid: %v, want ErrAlreadyExists", err)
	}
}

func testSessionTouchForwardOnly(t *testing.T, s storage.Store) {
	ctx := context.Background()
	bs := sampleSession("hash-1", time.Now())
	must(t, s.CreateSession(ctx, bs))
	later := bs.LastSeenAt.Add(5 * time.Minute)
	must(t, s.TouchSession(ctx, "hash-1", later))
	must(t, s.TouchSession(ctx, "hash-1", bs.LastSeenAt.Add(time.Minute)))
	got, err := s.GetSession(ctx, "hash-1")
	must(t, err)
	if !got.LastSeenAt.Equal(later) {
		t.Errorf("LastSeenAt = %v, want %v: an older touch moved it back", got.LastSeenAt, later)
	}
}

func testSessionClientTwice(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateSession(ctx, sampleSession("hash-1", time.Now())))
	must(t, s.AddSessionClient(ctx, "hash-1", "client-a"))
	if err := s.AddSessionClient(ctx, "hash-1", "client-a"); err != nil {
		t.Fatalf("second AddSessionClient: %v", err)
	}
	_, clients, err := s.DeleteSession(ctx, "hash-1")
	must(t, err)
	if !reflect.DeepEqual(clients, []string{"client-a"}) {
		t.Errorf("clients = %v, want [client-a] once", clients)
	}
}

// sameSession compares sessions by instant, whatever the time zones.
func sameSession(a, b storage.BrowserSession) bool {
	return a.ID == b.ID && a.SID == b.SID && a.UserID == b.UserID && a.ACR == b.ACR &&
		reflect.DeepEqual(a.AMR, b.AMR) &&
		a.AuthTime.Equal(b.AuthTime) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.LastSeenAt.Equal(b.LastSeenAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}
