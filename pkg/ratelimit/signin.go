package ratelimit

import (
	"context"
	"fmt"
)

// Attempt is one password sign-in, as throttling sees it.
type Attempt struct {
	// Account is the normalized email typed in. An email no customer has
	// is counted exactly like a customer's, so throttling tells nothing of
	// which accounts exist.
	Account string
	// IP is the client's address ("" when unknown).
	IP string
	// Device is the hash of the browser's device cookie ("" for none).
	Device string
}

// SignIn is a sign-in that was let through to the password check; tell it
// how the check went.
type SignIn struct {
	l     *Limiter
	known bool
	keys  []Key
	reset []Key
	acct  string // hashed account, for the known devices
	dev   string
}

// KnownDevice reports whether the browser signed in to the account before
// (and so was judged on its own budget).
func (s SignIn) KnownDevice() bool { return s.known }

// BeginSignIn decides whether a password sign-in may be checked at all; a
// refused one must not cost a password hash. A browser that signed in to
// the account before is judged only by its own counter (SignInDevice), so
// an attacker elsewhere, or behind the same address, cannot lock the
// customer out of it; any other browser by the account's counter for
// unknown devices, the (account, address) counter and the address's.
//
// On an error of the store the sign-in is let through (and the error
// returned for the log): throttling must not take sign-in down with it.
func (l *Limiter) BeginSignIn(ctx context.Context, a Attempt) (SignIn, Decision, error) {
	if l == nil {
		return SignIn{}, Decision{Allowed: true}, nil
	}
	s := SignIn{l: l, acct: l.hash(a.Account), dev: a.Device}
	if a.Device != "" {
		known, err := l.devices.IsKnownDevice(ctx, s.acct, a.Device, l.now())
		if err != nil {
			return s, Decision{Allowed: true}, fmt.Errorf("ratelimit: known device: %w", err)
		}
		s.known = known
	}
	if s.known {
		k := Key{SignInDevice, Join(a.Account, a.Device)}
		s.keys, s.reset = []Key{k}, []Key{k}
	} else {
		s.keys = []Key{{SignInAccount, a.Account}}
		if a.IP != "" {
			ip := Key{SignInAccountIP, Join(a.Account, a.IP)}
			s.keys = append(s.keys, ip, Key{SignInIP, a.IP})
			s.reset = []Key{ip}
		}
	}
	d, err := l.Check(ctx, s.keys...)
	return s, d, err
}

// Failed counts a wrong password (or unknown email).
func (s SignIn) Failed(ctx context.Context) error {
	if s.l == nil {
		return nil
	}
	return s.l.Fail(ctx, s.keys...)
}

// Succeeded remembers the browser as a device of the account (for
// DeviceLifetime from now) and forgets its own failures: the device's
// counter, or the (account, address) one. The account's counter for
// unknown devices and the address's stay: they are about others.
func (s SignIn) Succeeded(ctx context.Context) error {
	if s.l == nil {
		return nil
	}
	if s.dev != "" {
		if err := s.l.devices.RememberDevice(ctx, s.acct, s.dev, s.l.now().Add(s.l.deviceLife)); err != nil {
			return fmt.Errorf("ratelimit: remember device: %w", err)
		}
	}
	return s.l.Reset(ctx, s.reset...)
}
