package bufwriter

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an output that remembers each write it got.
type recorder struct {
	mu     sync.Mutex
	writes []string
	fail   error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return 0, r.fail
	}
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

func TestLinesAreGatheredAndKeptWhole(t *testing.T) {
	out := &recorder{}
	w := New(out, 16, time.Hour)
	for _, line := range []string{"aaaa\n", "bbbb\n", "cccc\n", "dddd\n"} {
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	// Three lines fit in 16 bytes; the fourth forced them out in one write.
	if got := out.all(); len(got) != 1 || got[0] != "aaaa\nbbbb\ncccc\n" {
		t.Fatalf("writes before Close = %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.all(); len(got) != 2 || got[1] != "dddd\n" {
		t.Fatalf("writes after Close = %q", got)
	}
	// After Close nothing waits in the buffer.
	if _, err := w.Write([]byte("late\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.all(); got[len(got)-1] != "late\n" {
		t.Fatalf("a write after Close was buffered: %q", got)
	}
}

func TestFlushesEveryInterval(t *testing.T) {
	out := &recorder{}
	w := New(out, 1<<16, time.Millisecond)
	defer w.Close()
	if _, err := w.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(out.all()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the buffered line was never flushed")
		}
		time.Sleep(time.Millisecond)
	}
	if got := out.all(); got[0] != "line\n" {
		t.Fatalf("flushed %q", got)
	}
}

func TestLargeWriteGoesThrough(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, 8, time.Hour)
	defer w.Close()
	big := strings.Repeat("x", 20)
	if _, err := w.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ab"+big {
		t.Fatalf("output %q", out.String())
	}
}

func TestOutputErrorIsReportedThenRetried(t *testing.T) {
	broken := errors.New("disk full")
	out := &recorder{fail: broken}
	w := New(out, 4, time.Hour)
	defer w.Close()
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("def")); !errors.Is(err, broken) {
		t.Fatalf("write after a failed flush: %v", err)
	}
	// The output recovers: later lines get through.
	out.mu.Lock()
	out.fail = nil
	out.mu.Unlock()
	if _, err := w.Write([]byte("ghi")); err != nil {
		t.Fatalf("write once the output works again: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.all(); len(got) != 1 || got[0] != "ghi" {
		t.Fatalf("writes after recovery = %q", got)
	}
}
