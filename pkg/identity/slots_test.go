package identity

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/argon2"
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
	var taken []*argon2.Memory
	for range runtime.GOMAXPROCS(0) {
		mem, err := s.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, mem)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := s.verify(ctx, "correct horse", encoded); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("verify with every slot taken: %v, want the context's deadline", err)
	}
	if _, err := s.hash(ctx, "correct horse"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hash with every slot taken: %v, want the context's deadline", err)
	}

	s.release(taken[0])
	ok, _, err := s.verify(context.Background(), "correct horse", encoded)
	if !ok || err != nil {
		t.Fatalf("verify with a free slot: ok=%v err=%v", ok, err)
	}
	if got := len(s.slots); got != 1 {
		t.Fatalf("%d slots free after verify returned, want 1", got)
	}
	// The slot keeps its work area: the next hash in it gets the same one.
	if mem, _ := s.acquire(context.Background()); mem != taken[0] {
		t.Fatalf("the free slot's work area is %p, want the one it was released with (%p)", mem, taken[0])
	}
}

// TestSlotWorkAreasAreReused checks that hashes made one after another in
// reused work areas, and verified in them, are right: a work area holding
// an earlier hash's blocks gives the same result as a fresh one.
func TestSlotWorkAreasAreReused(t *testing.T) {
	s := NewService(nil, fast, PasswordPolicy{})
	ctx := context.Background()
	var hashes []string
	for i := range 4 {
		h, err := s.hash(ctx, fmt.Sprintf("password %d", i))
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	for i, h := range hashes {
		for j := range hashes {
			ok, _, err := s.verify(ctx, fmt.Sprintf("password %d", j), h)
			if err != nil || ok != (i == j) {
				t.Fatalf("hash %d against password %d: ok=%v err=%v", i, j, ok, err)
			}
		}
		// VerifyPassword computes in memory of its own.
		if ok, _, err := VerifyPassword(fmt.Sprintf("password %d", i), h, fast); !ok || err != nil {
			t.Fatalf("VerifyPassword of hash %d: ok=%v err=%v", i, ok, err)
		}
	}
}

// TestSlotsVerifyHashesMadeElsewhere verifies, through a service's hashing
// slots, hashes that golang.org/x/crypto/argon2 made: an argon2id one with
// a smaller memory cost than the slots' areas, and an imported argon2i one
// with two lanes.
func TestSlotsVerifyHashesMadeElsewhere(t *testing.T) {
	s := NewService(nil, fast, PasswordPolicy{})
	for _, encoded := range []string{
		"$argon2id$v=19$m=64,t=1,p=1$Z2F0ZWhvdXNlLXNhbHQxNg$FK0ESY1/RUkzbCcCgH19NwkYOz0AWQ3GP3Ow/7tDU+I",
		"$argon2i$v=19$m=128,t=2,p=2$Z2F0ZWhvdXNlLXNhbHQxNg$pip3M3yfaO79SpwJbvorb+WTlMbFkQmqMBWxGqI7/go",
	} {
		for range 2 { // the second time in a slot's kept area
			if ok, _, err := s.verify(context.Background(), "correct horse", encoded); !ok || err != nil {
				t.Fatalf("%s: ok=%v err=%v", encoded, ok, err)
			}
			if ok, _, err := s.verify(context.Background(), "correct horse!", encoded); ok || err != nil {
				t.Fatalf("%s with a wrong password: ok=%v err=%v", encoded, ok, err)
			}
		}
	}
}

// TestIdleSlotsLetTheirAreasGo checks that the slots keep their work areas
// while hashes keep coming and let them go once none has run for the idle
// time; a hash after that gets a new area and still verifies.
func TestIdleSlotsLetTheirAreasGo(t *testing.T) {
	s := NewService(nil, fast, PasswordPolicy{})
	s.idle = 50 * time.Millisecond
	ctx := context.Background()
	encoded, err := s.hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	kept := func() int {
		var mems []*argon2.Memory
		for range cap(s.slots) {
			mem := <-s.slots
			mems = append(mems, mem)
		}
		n := 0
		for _, mem := range mems {
			if mem != nil {
				n++
			}
			s.slots <- mem
		}
		return n
	}
	if n := kept(); n != 1 {
		t.Fatalf("%d slots hold an area right after one hash, want 1", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for kept() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle slots still hold their areas 10 s after the last hash")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ok, _, err := s.verify(ctx, "correct horse", encoded); !ok || err != nil {
		t.Fatalf("verify after the areas were let go: ok=%v err=%v", ok, err)
	}
	if n := kept(); n != 1 {
		t.Fatalf("%d slots hold an area after a hash in a fresh one, want 1", n)
	}
}
