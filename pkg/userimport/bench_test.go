package userimport_test

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/userimport"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// benchLines returns n import lines shaped like gatehouse-load seed-users'
// (emails spread over the alphabet, external ids, a bcrypt hash, one in
// four with a linked account), so the indexes are written at random places
// as a real import writes them.
func benchLines(n int) []byte {
	var b bytes.Buffer
	given := []string{"ada", "alan", "grace", "linus", "mei", "omar", "priya", "yuki", "zoe", "ben"}
	family := []string{"bauer", "kim", "lopez", "nguyen", "patel", "rossi", "smith", "tanaka", "weber", "zhang"}
	for i := range n {
		h := uint64(i)*0x9E3779B97F4A7C15 + 7
		g, f := given[h%10], family[(h>>8)%10]
		fmt.Fprintf(&b, `{"email":"%s.%s%d@example.com","email_verified":true,"name":"%s %s","given_name":"%s","family_name":"%s","locale":"en-GB","external_id":"legacy-%d","password_hash":"%s","created_at":"2021-03-04T05:06:07Z"`,
			g, f, h%1_000_000_007, g, f, g, f, 1_000_000+i, bcryptHash)
		if i%4 == 0 {
			fmt.Fprintf(&b, `,"identities":[{"provider":"google","subject":"%d"}]`, h)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

// BenchmarkImport imports b.N customers with pre-hashed passwords into a
// fresh database, in batches of the default size, and reports customers
// a second.
func BenchmarkImport(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			f := newFixture(b, gormstoretest.Database{Name: db})
			input := benchLines(b.N)
			ctx := events.WithActor(context.Background(), storage.Actor{Type: storage.ActorOperator})
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime(b)
			sum, err := userimport.Run(ctx, bytes.NewReader(input), f.accounts, userimport.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "customers/s")
			// The process's CPU a customer: steadier than the rate on a
			// shared machine (on SQLite it is all the database's work).
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/customer")
			if sum.Created != b.N {
				b.Fatalf("created %d of %d: %v", sum.Created, b.N, sum.Errors)
			}
		})
	}
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
