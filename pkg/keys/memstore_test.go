package keys

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// memStore is an in-memory storage.SigningKeyStore that honours the
// interface's contract: activation demotes the previous active key of the
// algorithm in the same step, onlyIfNone refuses a second active key with
// ErrAlreadyExists, and retirement refuses the active key (ErrKeyInUse) and
// an unknown kid (ErrNotFound) and erases the private part.
type memStore struct {
	mu   sync.Mutex
	keys []storage.SigningKey // oldest first

	// lists counts ListSigningKeys calls.
	lists int
	// beforeList, if set, runs at the start of each ListSigningKeys call,
	// outside the lock; a test uses it to hold callers at a barrier.
	beforeList func()
	// listErr, if set, is returned by ListSigningKeys.
	listErr error
}

func (s *memStore) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	s.mu.Lock()
	hook := s.beforeList
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	if s.listErr != nil {
		return nil, s.listErr
	}
	out := make([]storage.SigningKey, 0, len(s.keys))
	for _, k := range slices.Backward(s.keys) {
		out = append(out, clone(k))
	}
	return out, nil
}

func (s *memStore) ActivateSigningKey(ctx context.Context, k storage.SigningKey, onlyIfNone bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.keys {
		if old.ID == k.ID {
			return storage.ErrAlreadyExists
		}
		if onlyIfNone && old.Algorithm == k.Algorithm && old.State == storage.KeyActive {
			return storage.ErrAlreadyExists
		}
	}
	now := time.Now().UTC()
	for i, old := range s.keys {
		if old.Algorithm == k.Algorithm && old.State == storage.KeyActive {
			s.keys[i].State = storage.KeyPublished
			s.keys[i].DeactivatedAt = now
		}
	}
	k = clone(k)
	k.State = storage.KeyActive
	k.DeactivatedAt, k.RetiredAt = time.Time{}, time.Time{}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now
	}
	s.keys = append(s.keys, k)
	return nil
}

func (s *memStore) RetireSigningKey(ctx context.Context, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.keys {
		if k.ID != kid {
			continue
		}
		switch k.State {
		case storage.KeyActive:
			return storage.ErrKeyInUse
		case storage.KeyRetired:
			return nil
		}
		s.keys[i].State = storage.KeyRetired
		s.keys[i].SealedPrivateKey = nil
		s.keys[i].RetiredAt = time.Now().UTC()
		return nil
	}
	return storage.ErrNotFound
}

func (s *memStore) listCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists
}

func (s *memStore) setListErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listErr = err
}

func clone(k storage.SigningKey) storage.SigningKey {
	k.SealedPrivateKey = slices.Clone(k.SealedPrivateKey)
	k.PublicJWK = slices.Clone(k.PublicJWK)
	return k
}

// InTx runs fn: the memory store's steps are atomic each, and the tests
// never roll one back.
func (s *memStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}
