package gormstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// TestCollectStatementIsBounded stores more expired rows than a batch and
// runs one statement of a collection: it removes CollectBatch rows, not
// all of them; the next removes the rest.
func TestCollectStatementIsBounded(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Kind: SQLite, Path: filepath.Join(t.TempDir(), "gc.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const extra = 37
	past := time.Now().UTC().Add(-time.Hour)
	for i := range CollectBatch + extra {
		if err := s.write.Exec("INSERT INTO client_assertion_jtis (jti, expires_at) VALUES (?, ?)", fmt.Sprintf("jti-%d", i), past).Error; err != nil {
			t.Fatal(err)
		}
	}
	var kind expiring
	for _, k := range expiringKinds() {
		if k.kind == storage.CollectClientAssertionIDs {
			kind = k
		}
	}
	now := time.Now()
	for _, want := range []int64{CollectBatch, extra, 0} {
		n, err := s.collectBatch(ctx, kind, kind.cutoff(now))
		if err != nil || n != want {
			t.Errorf("one statement removed %d (%v), want %d", n, err, want)
		}
	}
}
