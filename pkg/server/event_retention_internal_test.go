package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestPruneEventsDeletesOldEventsInBatches(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		ctx := context.Background()
		store := gormstoretest.Open(t, db.URL)
		now := time.Now().UTC()
		var old []storage.Event
		for i := range 2500 {
			old = append(old, storage.Event{ID: fmt.Sprintf("old-%05d", i), Type: "user.updated", Time: now.Add(-100 * 24 * time.Hour), Subject: "u"})
		}
		recent := []storage.Event{{ID: "recent-1", Type: "user.updated", Time: now.Add(-time.Hour), Subject: "u"}}
		if err := store.AppendEvents(ctx, append(old, recent...)...); err != nil {
			t.Fatal(err)
		}
		n, err := pruneEvents(ctx, store, now.Add(-90*24*time.Hour), 1000, 0)
		if err != nil || n != 2500 {
			t.Fatalf("pruneEvents = %d, %v; want 2500 in three batches", n, err)
		}
		left, err := store.ListEvents(ctx, storage.EventFilter{}, storage.Page{})
		if err != nil || len(left) != 1 || left[0].ID != "recent-1" {
			t.Fatalf("left %v, %v; want the recent event only", left, err)
		}
	})
}
