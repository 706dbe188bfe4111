package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// emailTokenTests are the rules of mailed single-use tokens: used once,
// concurrently too; refused once expired; the latest of a purpose wins.
func emailTokenTests(t *testing.T, run func(*testing.T, string, func(*testing.T, storage.Store))) {
	run(t, "a token is used once and comes back in UTC", testEmailTokenOnce)
	run(t, "of concurrent uses exactly one succeeds", testEmailTokenConcurrent)
	run(t, "an expired token or another purpose is not found", testEmailTokenExpired)
	run(t, "a new token of a purpose replaces the customer's older ones", testEmailTokenReplaced)
}

func emailToken(hash, purpose, user string, expires time.Time) storage.EmailToken {
	return storage.EmailToken{Hash: hash, Purpose: purpose, UserID: user, Email: user + "@example.com", AuthRequestID: "ar-1", ExpiresAt: expires}
}

func testEmailTokenOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Truncate(time.Second).In(time.FixedZone("X", 3600))
	must(t, s.CreateEmailToken(ctx, emailToken("h1", storage.PurposeReset, "u1", exp)))
	if peek, err := s.GetEmailToken(ctx, storage.PurposeReset, "h1", time.Now()); err != nil || peek.UserID != "u1" {
		t.Fatalf("get before use: %+v %v", peek, err)
	}
	if _, err := s.GetEmailToken(ctx, storage.PurposeReset, "h1", exp.Add(time.Second)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after expiry: %v, want ErrNotFound", err)
	}
	got, err := s.UseEmailToken(ctx, storage.PurposeReset, "h1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "u1" || got.Email != "u1@example.com" || got.AuthRequestID != "ar-1" || !got.ExpiresAt.Equal(exp) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("got %+v", got)
	}
	if _, err := s.UseEmailToken(ctx, storage.PurposeReset, "h1", time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second use: %v, want ErrNotFound", err)
	}
}

func testEmailTokenConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateEmailToken(ctx, emailToken("h1", storage.PurposeSignInCode, "u1", time.Now().Add(time.Hour))))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UseEmailToken(ctx, storage.PurposeSignInCode, "h1", time.Now())
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict):
				t.Errorf("use: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d uses succeeded, want 1", wins)
	}
}

func testEmailTokenExpired(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateEmailToken(ctx, emailToken("old", storage.PurposeVerifyLink, "u1", time.Now().Add(-time.Second))))
	if _, err := s.UseEmailToken(ctx, storage.PurposeVerifyLink, "old", time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("expired: %v, want ErrNotFound", err)
	}
	must(t, s.CreateEmailToken(ctx, emailToken("h2", storage.PurposeVerifyLink, "u1", time.Now().Add(time.Hour))))
	if _, err := s.UseEmailToken(ctx, storage.PurposeReset, "h2", time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("other purpose: %v, want ErrNotFound", err)
	}
	res, err := s.Collect(ctx, time.Now().Add(2*time.Hour))
	if err != nil || res.Removed[storage.CollectEmailTokens] != 1 {
		t.Fatalf("collect %+v %v", res, err)
	}
}

func testEmailTokenReplaced(t *testing.T, s storage.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	must(t, s.CreateEmailToken(ctx, emailToken("a", storage.PurposeVerifyLink, "u1", exp)))
	must(t, s.CreateEmailToken(ctx, emailToken("c", storage.PurposeVerifyCode, "u1", exp)))
	must(t, s.CreateEmailToken(ctx, emailToken("other", storage.PurposeVerifyLink, "u2", exp)))
	must(t, s.CreateEmailToken(ctx, emailToken("b", storage.PurposeVerifyLink, "u1", exp)))
	if _, err := s.UseEmailToken(ctx, storage.PurposeVerifyLink, "a", time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("replaced token: %v, want ErrNotFound", err)
	}
	if err := s.CreateEmailToken(ctx, emailToken("other", storage.PurposeReset, "u3", exp)); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("taken hash: %v, want ErrAlreadyExists", err)
	}
	must(t, s.DeleteEmailTokens(ctx, "u1", storage.PurposeVerifyLink, storage.PurposeVerifyCode))
	for _, h := range []string{"b", "c"} {
		if _, err := s.UseEmailToken(ctx, storage.PurposeVerifyLink, h, time.Now()); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted token %s: %v", h, err)
		}
	}
	if _, err := s.UseEmailToken(ctx, storage.PurposeVerifyLink, "other", time.Now()); err != nil {
		t.Fatalf("another customer's token: %v", err)
	}
}
