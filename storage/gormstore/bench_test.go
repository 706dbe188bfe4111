package gormstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// BenchmarkCreateAccessToken measures concurrent access-token writes, which
// the group-commit writer batches: 50 writers at once.
//
//	go test ./storage/gormstore -run '^$' -bench CreateAccessToken
func BenchmarkCreateAccessToken(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchCreateAccessToken(b, gormstoretest.SQLiteURL(b)) })
	b.Run("postgres", func(b *testing.B) { benchCreateAccessToken(b, gormstoretest.PostgresURL(b)) })
}

func benchCreateAccessToken(b *testing.B, url string) {
	s := openMigrated(b, url)
	defer s.Close()
	ctx := context.Background()
	c := storage.Client{ID: "bench", GrantTypes: []string{"client_credentials"}}
	if err := s.CreateClient(ctx, c); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b.SetParallelism(25)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := strconv.FormatInt(seq.Add(1), 10)
			r := fosite.NewRequest()
			r.ID, r.Client, r.RequestedAt = n, &c, time.Now()
			sess := openid.NewDefaultSession()
			sess.Subject = "bench"
			sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Hour))
			r.Session = sess
			if err := s.CreateAccessTokenSession(ctx, "sig-"+n, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
