package gormstore

import (
	"context"
	"path/filepath"
	"testing"
)

// TestUseBulkWriteCache checks that the write connection's page cache takes
// the size asked for, and that the read connections keep SQLite's default.
func TestUseBulkWriteCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Kind: SQLite, Path: filepath.Join(t.TempDir(), "bulk.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before int
	if err := s.write.Raw("PRAGMA cache_size").Scan(&before).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.UseBulkWriteCache(ctx, 4096); err != nil {
		t.Fatal(err)
	}
	var writer, reader int
	if err := s.write.Raw("PRAGMA cache_size").Scan(&writer).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.read.Raw("PRAGMA cache_size").Scan(&reader).Error; err != nil {
		t.Fatal(err)
	}
	if writer != -4096 {
		t.Errorf("the write connection's cache_size is %d after UseBulkWriteCache(4096), want -4096 (KiB)", writer)
	}
	if reader != before || before == -4096 {
		t.Errorf("a read connection's cache_size is %d, want SQLite's default %d", reader, before)
	}
}
