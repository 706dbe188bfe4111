package oidc_test

import (
	"net/http"
	"sync"
)

// switchable is a transport a test can replace while it is in use.
type switchable struct {
	mu sync.Mutex
	rt http.RoundTripper
}

func (s *switchable) use(rt http.RoundTripper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rt = rt
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	rt := s.rt
	s.mu.Unlock()
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(r)
}
