package gormstore

import (
	"context"
	"sync"
)

// commitHooksKey is the context key of the functions to run after the
// transaction InTx started commits.
type commitHooksKey struct{}

// commitHooks are the functions to run once a transaction commits.
type commitHooks struct {
	mu  sync.Mutex
	fns []func()
}

func (h *commitHooks) add(fn func()) {
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	h.mu.Unlock()
}

func (h *commitHooks) run() {
	h.mu.Lock()
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// AfterCommit runs fn once the transaction that InTx or BeginTX put in ctx
// commits, and never if it rolls back. Outside a transaction (whose writes
// are already committed) it runs fn at once. Use it to wake a worker for jobs the transaction enqueued; fn must
// be quick and must not fail.
func (s *Store) AfterCommit(ctx context.Context, fn func()) {
	if h, ok := ctx.Value(commitHooksKey{}).(*commitHooks); ok {
		h.add(fn)
		return
	}
	fn()
}
