// Package bufwriter batches small writes, such as log lines, into few
// system calls.
//
// A busy server writes one log line per request; written one by one, the
// lines cost a system call each. Writer gathers them and writes them out
// together when its buffer fills and at least once per interval, so a line
// reaches the output at most one interval late. Each Write is kept whole:
// a line is never split between two flushes.
package bufwriter

import (
	"io"
	"sync"
	"time"
)

// Writer is an io.Writer that buffers and flushes in the background. It is
// safe for concurrent use. Close flushes what is buffered and stops the
// background flushing.
type Writer struct {
	out  io.Writer
	size int

	mu  sync.Mutex
	buf []byte

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a Writer that writes to out when size bytes are buffered and
// every interval.
func New(out io.Writer, size int, interval time.Duration) *Writer {
	w := &Writer{out: out, size: size, buf: make([]byte, 0, size), stop: make(chan struct{}), done: make(chan struct{})}
	go w.flushEvery(interval)
	return w
}

// Write buffers p, first writing out the buffer if p does not fit. A p
// larger than the buffer is written through at once. An error of the
// output is returned to the write that found it; the lines it failed to
// write are dropped, as unbuffered writes would have lost them, and later
// writes try again.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(p) > w.size {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > w.size {
			if _, err := w.out.Write(p); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *Writer) flushEvery(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Close stops the background flushing and writes out what is buffered.
// Writes after Close go straight to the output.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.flushLocked()
	w.size = 0 // from now on every write is written through
	return err
}
