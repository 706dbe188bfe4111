package conformance

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

func sampleDelivery(id string, created, next time.Time) storage.LogoutDelivery {
	return storage.LogoutDelivery{
		ID:          id,
		ClientID:    "c1",
		URI:         "https://app.example/backchannel",
		LogoutToken: "sid=s1&sub=u1",
		NextAttempt: next,
		CreatedAt:   created,
	}
}

func deliveryIDs(ds []storage.LogoutDelivery) []string {
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func testLogoutDeliveryQueue(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	must(t, s.EnqueueLogoutDeliveries(ctx, nil))
	must(t, s.EnqueueLogoutDeliveries(ctx, []storage.LogoutDelivery{
		sampleDelivery("d-later", now, now.Add(time.Hour)),
		sampleDelivery("d-second", now.Add(-time.Minute), now.Add(-time.Minute)),
		// Given in another zone: it must still sort by instant.
		sampleDelivery("d-first", now.Add(-2*time.Minute), now.Add(-2*time.Minute).In(time.FixedZone("UTC+14", 14*3600))),
	}))

	due, err := s.DueLogoutDeliveries(ctx, now, 10)
	must(t, err)
	if got, want := deliveryIDs(due), []string{"d-first", "d-second"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("due = %v, want %v", got, want)
	}
	first := due[0]
	if first.ClientID != "c1" || first.URI != "https://app.example/backchannel" || first.LogoutToken != "sid=s1&sub=u1" || first.Attempts != 0 {
		t.Errorf("delivery = %+v", first)
	}
	if first.NextAttempt.Location() != time.UTC || !first.NextAttempt.Equal(now.Add(-2*time.Minute)) || !first.CreatedAt.Equal(now.Add(-2*time.Minute)) {
		t.Errorf("times = %v, %v", first.NextAttempt, first.CreatedAt)
	}
	if due, err := s.DueLogoutDeliveries(ctx, now, 1); err != nil || !reflect.DeepEqual(deliveryIDs(due), []string{"d-first"}) {
		t.Errorf("limit 1: %v, %v; want [d-first]", deliveryIDs(due), err)
	}

	// A failed attempt moves the delivery behind the others.
	must(t, s.RescheduleLogoutDelivery(ctx, "d-first", 1, now.Add(30*time.Minute)))
	if due, err := s.DueLogoutDeliveries(ctx, now, 10); err != nil || !reflect.DeepEqual(deliveryIDs(due), []string{"d-second"}) {
		t.Errorf("after reschedule: %v, %v; want [d-second]", deliveryIDs(due), err)
	}
	due, err = s.DueLogoutDeliveries(ctx, now.Add(2*time.Hour), 10)
	must(t, err)
	if got, want := deliveryIDs(due), []string{"d-second", "d-first", "d-later"}; !reflect.DeepEqual(got, want) {
		t.Errorf("all due later = %v, want %v", got, want)
	}
	if due[1].Attempts != 1 || !due[1].NextAttempt.Equal(now.Add(30*time.Minute)) {
		t.Errorf("rescheduled delivery = %+v", due[1])
	}

	must(t, s.DeleteLogoutDelivery(ctx, "d-second"))
	if due, err := s.DueLogoutDeliveries(ctx, now, 10); err != nil || len(due) != 0 {
		t.Errorf("after delete: %v, %v; want none due", deliveryIDs(due), err)
	}
	if err := s.DeleteLogoutDelivery(ctx, "d-second"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if err := s.RescheduleLogoutDelivery(ctx, "d-second", 2, now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("rescheduling a deleted delivery: %v, want ErrNotFound", err)
	}
}

func testLogoutDeliveryDuplicate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	must(t, s.EnqueueLogoutDeliveries(ctx, []storage.LogoutDelivery{sampleDelivery("d1", now, now)}))
	err := s.EnqueueLogoutDeliveries(ctx, []storage.LogoutDelivery{sampleDelivery("d2", now, now), sampleDelivery("d1", now, now)})
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken id: %v, want ErrAlreadyExists", err)
	}
	due, err := s.DueLogoutDeliveries(ctx, now.Add(time.Second), 10)
	must(t, err)
	if !reflect.DeepEqual(deliveryIDs(due), []string{"d1"}) {
		t.Errorf("due = %v, want [d1]: a refused enqueue must store nothing", deliveryIDs(due))
	}
}
