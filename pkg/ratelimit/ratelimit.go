// Package ratelimit counts what an attacker repeats (failed sign-ins,
// failed client authentications, registrations) and decides when to make
// them wait, after OWASP's Authentication and Credential Stuffing cheat
// sheets: a few free events, then a wait that doubles with each further
// event up to a cap, so nobody is locked out for good and a guesser gets a
// handful of tries an hour. It knows nothing of HTTP: callers pass the
// client's address, the account and the browser's device, and answer 429
// themselves.
//
// Counters live in a storage.CounterStore: the database's table on
// PostgreSQL (shared by every replica), or Memory in one process. Subjects
// (emails, addresses, client IDs) are stored only as keyed hashes.
//
// A nil *Limiter allows everything: that is throttling switched off.
package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Kind names what a counter counts; it is the label of the throttling
// metric. Adding a use (sign-up per address, password resets per account,
// mails per recipient, second-factor tries per account) is adding a Kind and
// its Rule, and calling Check and Fail (for failures) or Take (for every
// attempt).
type Kind string

// The kinds in use.
const (
	// SignInAccount counts failed password sign-ins to an account (by its
	// normalized email, known or not) from devices that never signed in to
	// it.
	SignInAccount Kind = "signin_account"
	// SignInAccountIP counts them per account and client address.
	SignInAccountIP Kind = "signin_account_ip"
	// SignInIP counts failed sign-ins from a client address, whatever the
	// account.
	SignInIP Kind = "signin_ip"
	// SignInDevice counts failed sign-ins to an account from a device that
	// signed in to it before: that device's own budget.
	SignInDevice Kind = "signin_device"
	// ClientAuth counts failed client authentications per client_id at the
	// token, introspection and revocation endpoints.
	ClientAuth Kind = "client_auth"
	// Registration counts client registrations (RFC 7591) per address.
	Registration Kind = "registration_ip"
	// SecondFactor counts wrong second-factor codes (TOTP, recovery codes)
	// per customer, whatever the device or address: whoever types them
	// already passed the first factor.
	SecondFactor Kind = "mfa_account"
)

// Rule says how patient to be with one kind of counter.
type Rule struct {
	// Free is how many events are let through before any wait.
	Free int
	// Base is the wait after the Free-th event; each further event
	// doubles it.
	Base time.Duration
	// Max caps one wait.
	Max time.Duration
	// Window is how long a counter lasts from its first event; then it
	// starts over.
	Window time.Duration
}

// Wait is how long after its last event a counter with hits events makes
// the next one wait: nothing below Free, then Base, 2·Base, 4·Base, … up
// to Max.
func (r Rule) Wait(hits int) time.Duration {
	if hits < r.Free || r.Base <= 0 {
		return 0
	}
	d := r.Base
	for n := hits - r.Free; n > 0 && d < r.Max; n-- {
		d *= 2
	}
	return min(d, r.Max)
}

// Rules gives each Kind its Rule. A kind without a rule is never limited.
type Rules map[Kind]Rule

// Limits are the configurable numbers of DefaultRules.
type Limits struct {
	// AccountFailures, AccountIPFailures, IPFailures and DeviceFailures are
	// the free failed sign-ins of SignInAccount, SignInAccountIP, SignInIP
	// and SignInDevice.
	AccountFailures   int
	AccountIPFailures int
	IPFailures        int
	DeviceFailures    int
	// ClientFailures are the free failed client authentications per
	// client_id.
	ClientFailures int
	// RegistrationsPerIP are the free registrations per address.
	RegistrationsPerIP int
	// SecondFactorFailures are the free wrong second-factor codes per
	// customer.
	SecondFactorFailures int
	// BackoffBase and BackoffMax are every rule's first wait and cap.
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

// DefaultLimits are the limits Gatehouse ships with (docs/configuration.md).
func DefaultLimits() Limits {
	return Limits{
		AccountFailures:    10,
		AccountIPFailures:  5,
		IPFailures:         100,
		DeviceFailures:     10,
		ClientFailures:     20,
		RegistrationsPerIP: 20,
		BackoffBase:        time.Second,
		BackoffMax:         15 * time.Minute,
		// A six-digit code is guessed far sooner than a password.
		SecondFactorFailures: 5,
	}
}

// Rules returns the rules for these limits. Sign-in counters about an
// account last a day, so a slow guesser's count does not start over every
// hour; those about an address an hour, so that the failures of the many
// people behind one NAT do not add up all day.
func (l Limits) Rules() Rules {
	rule := func(free int, window time.Duration) Rule {
		return Rule{Free: free, Base: l.BackoffBase, Max: l.BackoffMax, Window: window}
	}
	return Rules{
		SignInAccount:   rule(l.AccountFailures, 24*time.Hour),
		SignInAccountIP: rule(l.AccountIPFailures, 24*time.Hour),
		SignInDevice:    rule(l.DeviceFailures, 24*time.Hour),
		SignInIP:        rule(l.IPFailures, time.Hour),
		ClientAuth:      rule(l.ClientFailures, time.Hour),
		Registration:    rule(l.RegistrationsPerIP, time.Hour),
		SecondFactor:    rule(l.SecondFactorFailures, 24*time.Hour),
	}
}

// Key names one counter: its kind and its subject (an address, an email, a
// client_id, or several joined by Join).
type Key struct {
	Kind    Kind
	Subject string
}

// Join makes one subject of several (an account and an address).
func Join(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return string(b)
}

// Decision is the answer to "may this go ahead?".
type Decision struct {
	// Allowed is true when the request may go ahead.
	Allowed bool
	// RetryAfter, when not allowed, is how long to wait.
	RetryAfter time.Duration
	// Kind is the counter that refused.
	Kind Kind
}

// Options configure a Limiter.
type Options struct {
	// Counters keeps the counters: the store's table on PostgreSQL, a
	// Memory on SQLite or in tests.
	Counters storage.CounterStore
	// Devices remembers the devices that signed in to an account.
	Devices storage.KnownDeviceStore
	// Rules are the limits; see Limits.Rules.
	Rules Rules
	// SubjectKey keys the hash under which subjects are stored, so that the
	// tables hold no email or address.
	SubjectKey []byte
	// DeviceLifetime is how long a device stays known after its last
	// sign-in; 0 means 400 days, the device cookie's lifetime.
	DeviceLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnThrottled, when set, is called with the kind of every refusal (for
	// metrics).
	OnThrottled func(Kind)
}

// Limiter counts and decides.
type Limiter struct {
	counters    storage.CounterStore
	devices     storage.KnownDeviceStore
	rules       Rules
	key         []byte
	deviceLife  time.Duration
	now         func() time.Time
	onThrottled func(Kind)
}

// New returns a Limiter.
func New(opts Options) *Limiter {
	l := &Limiter{
		counters: opts.Counters, devices: opts.Devices, rules: opts.Rules, key: opts.SubjectKey,
		deviceLife: opts.DeviceLifetime, now: opts.Now, onThrottled: opts.OnThrottled,
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.deviceLife == 0 {
		l.deviceLife = 400 * 24 * time.Hour
	}
	return l
}

// id is the stored name of a counter: its kind and a keyed hash of its
// subject.
func (l *Limiter) id(k Key) string {
	return string(k.Kind) + ":" + l.hash(k.Subject)
}

func (l *Limiter) hash(subject string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(subject))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:16])
}

// Check reports whether a request counted on keys may go ahead now,
// without counting it: the first blocked counter (the longest wait)
// refuses it. Use it before work an attacker wants done (hashing a
// password), then Fail when the work failed.
func (l *Limiter) Check(ctx context.Context, keys ...Key) (Decision, error) {
	if l == nil || len(keys) == 0 {
		return Decision{Allowed: true}, nil
	}
	ids := make([]string, len(keys))
	kinds := make(map[string]Kind, len(keys))
	for i, k := range keys {
		ids[i] = l.id(k)
		kinds[ids[i]] = k.Kind
	}
	now := l.now()
	cs, err := l.counters.GetCounters(ctx, now, ids)
	if err != nil {
		return Decision{Allowed: true}, fmt.Errorf("ratelimit: check: %w", err)
	}
	d := Decision{Allowed: true}
	for _, c := range cs {
		kind := kinds[c.ID]
		if wait := c.Last.Add(l.rules[kind].Wait(c.Hits)).Sub(now); wait > 0 && wait > d.RetryAfter {
			d = Decision{RetryAfter: wait, Kind: kind}
		}
	}
	l.refused(d)
	return d, nil
}

// Fail counts one failure on each key, in one step of the store.
func (l *Limiter) Fail(ctx context.Context, keys ...Key) error {
	if l == nil || len(keys) == 0 {
		return nil
	}
	_, err := l.add(ctx, l.now(), keys)
	return err
}

// Take counts an attempt on key and decides on it, in one step of the
// store: it is refused when the counter, before it, made it wait. A refused
// attempt counts too, so one who keeps trying while told to wait keeps
// waiting (the wait grows up to the cap). For registrations, mails, and
// failures that are decided after they happen (client authentication).
func (l *Limiter) Take(ctx context.Context, key Key) (Decision, error) {
	if l == nil {
		return Decision{Allowed: true}, nil
	}
	now := l.now()
	cs, err := l.add(ctx, now, []Key{key})
	if err != nil {
		return Decision{Allowed: true}, fmt.Errorf("ratelimit: take: %w", err)
	}
	c, rule := cs[0], l.rules[key.Kind]
	d := Decision{Allowed: true}
	if c.Hits > 1 && now.Before(c.Prev.Add(rule.Wait(c.Hits-1))) {
		d = Decision{RetryAfter: rule.Wait(c.Hits), Kind: key.Kind}
	}
	l.refused(d)
	return d, nil
}

// Reset forgets the counters of keys.
func (l *Limiter) Reset(ctx context.Context, keys ...Key) error {
	if l == nil || len(keys) == 0 {
		return nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = l.id(k)
	}
	if err := l.counters.DeleteCounters(ctx, ids); err != nil {
		return fmt.Errorf("ratelimit: reset: %w", err)
	}
	return nil
}

func (l *Limiter) add(ctx context.Context, now time.Time, keys []Key) ([]storage.Counter, error) {
	adds := make([]storage.CounterAdd, len(keys))
	for i, k := range keys {
		w := l.rules[k.Kind].Window
		if w <= 0 {
			w = time.Hour
		}
		adds[i] = storage.CounterAdd{ID: l.id(k), Window: w}
	}
	cs, err := l.counters.AddCounters(ctx, now, adds)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: count: %w", err)
	}
	return cs, nil
}

func (l *Limiter) refused(d Decision) {
	if !d.Allowed && l.onThrottled != nil {
		l.onThrottled(d.Kind)
	}
}
