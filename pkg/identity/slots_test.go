package identity

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestHashesWaitForASlot checks that no more than GOMAXPROCS hashes run at
// once: with every slot taken, a hash waits, and gives up when its
// context ends; once a slot is free it runs.
func TestHashesWaitForASlot(t *testing.T) {
	s := NewService(nil, fast, PasswordPolicy{})
	encoded, err := HashPassword("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	for range runtime.GOMAXPROCS(0) {
		if err := s.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := s.verify(ctx, "correct horse", encoded); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("verify with every slot taken: %v, want the context's deadline", err)
	}
	if _, err := s.hash(ctx, "correct horse"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hash with every slot taken: %v, want the context's deadline", err)
	}

	s.release()
	ok, _, err := s.verify(context.Background(), "correct horse", encoded)
	if !ok || err != nil {
		t.Fatalf("verify with a free slot: ok=%v err=%v", ok, err)
	}
	if got := len(s.slots); got != runtime.GOMAXPROCS(0)-1 {
		t.Fatalf("%d slots taken after verify returned, want %d", got, runtime.GOMAXPROCS(0)-1)
	}
}
