package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// BenchmarkThrottle measures what throttling adds to a request: the check
// before a password hash (a known-device lookup and one read of three
// counters), the count of a failure (one upsert of three counters), and a
// failed client authentication (one upsert, decided from its result), on
// the in-memory counters SQLite uses and on PostgreSQL's table.
//
//	GATEHOUSE_TEST_POSTGRES_URL=… go test ./pkg/server -run '^$' -bench Throttle -benchtime 2s
func BenchmarkThrottle(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		store := openBenchStore(b, gormstoretest.SQLiteURL(b))
		benchThrottle(b, ratelimit.NewMemory(100000), store)
	})
	b.Run("postgres", func(b *testing.B) {
		store := openBenchStore(b, gormstoretest.PostgresURL(b))
		benchThrottle(b, store, store)
	})
}

func openBenchStore(b *testing.B, u string) *gormstore.Store {
	b.Helper()
	opts := gormstore.Options{}
	if path, ok := strings.CutPrefix(u, "sqlite://"); ok {
		opts.Kind, opts.Path = gormstore.SQLite, path
	} else {
		opts.Kind, opts.DSN = gormstore.Postgres, u
	}
	s, err := gormstore.Open(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchThrottle(b *testing.B, counters storage.CounterStore, devices storage.KnownDeviceStore) {
	ctx := context.Background()
	l := ratelimit.New(ratelimit.Options{
		Counters: counters, Devices: devices, SubjectKey: []byte("bench"),
		Rules: ratelimit.DefaultLimits().Rules(),
	})
	attempt := func(i int) ratelimit.Attempt {
		n := strconv.Itoa(i % 1000)
		return ratelimit.Attempt{Account: "user" + n + "@example.com", IP: "192.0.2." + strconv.Itoa(i%250), Device: "device-" + n}
	}
	b.Run("sign-in check", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, _, err := l.BeginSignIn(ctx, attempt(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
	b.Run("sign-in failure", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				s, _, err := l.BeginSignIn(ctx, attempt(i))
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Failed(ctx); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
	b.Run("client authentication failure", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := l.Take(ctx, ratelimit.Key{Kind: ratelimit.ClientAuth, Subject: "client-" + strconv.Itoa(i%100)}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}
