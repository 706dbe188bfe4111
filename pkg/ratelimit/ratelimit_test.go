package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/storage"
)

// clock is a fake clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// devices is a storage.KnownDeviceStore in a map.
type devices struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (d *devices) RememberDevice(_ context.Context, account, device string, exp time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen[account+"|"+device] = exp
	return nil
}

func (d *devices) IsKnownDevice(_ context.Context, account, device string, now time.Time) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	exp, ok := d.seen[account+"|"+device]
	return ok && now.Before(exp), nil
}

func (d *devices) DeleteExpiredDevices(context.Context, time.Time, int) (int64, error) { return 0, nil }

var testLimits = ratelimit.Limits{
	AccountFailures: 10, AccountIPFailures: 5, IPFailures: 30, DeviceFailures: 4,
	ClientFailures: 3, RegistrationsPerIP: 2, BackoffBase: time.Second, BackoffMax: time.Minute,
}

func newLimiter(t *testing.T) (*ratelimit.Limiter, *clock, *[]ratelimit.Kind) {
	t.Helper()
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	var throttled []ratelimit.Kind
	l := ratelimit.New(ratelimit.Options{
		Counters:    ratelimit.NewMemory(1000),
		Devices:     &devices{seen: map[string]time.Time{}},
		Rules:       testLimits.Rules(),
		SubjectKey:  []byte("test key"),
		Now:         c.now,
		OnThrottled: func(k ratelimit.Kind) { throttled = append(throttled, k) },
	})
	return l, c, &throttled
}

// guess makes one password sign-in that fails when allowed, and returns
// the decision.
func guess(t *testing.T, l *ratelimit.Limiter, a ratelimit.Attempt) ratelimit.Decision {
	t.Helper()
	ctx := context.Background()
	s, d, err := l.BeginSignIn(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed {
		if err := s.Failed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestRuleWaitDoublesUpToTheCap(t *testing.T) {
	r := ratelimit.Rule{Free: 3, Base: time.Second, Max: 10 * time.Second}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for hits, w := range want {
		if got := r.Wait(hits); got != w {
			t.Errorf("Wait(%d) = %v, want %v", hits, got, w)
		}
	}
	if got := r.Wait(1 << 20); got != 10*time.Second {
		t.Errorf("Wait of a huge count = %v, want the cap", got)
	}
}

func TestSignInBackoff(t *testing.T) {
	t.Run("an address gets its free guesses, then waits that double up to the cap", func(t *testing.T) {
		l, c, throttled := newLimiter(t)
		a := ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1", Device: "attacker"}
		for i := range testLimits.AccountIPFailures {
			if d := guess(t, l, a); !d.Allowed {
				t.Fatalf("guess %d refused: %+v", i+1, d)
			}
		}
		for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
			d := guess(t, l, a)
			if d.Allowed || d.RetryAfter != wait || d.Kind != ratelimit.SignInAccountIP {
				t.Fatalf("decision %+v, want a wait of %v by %s", d, wait, ratelimit.SignInAccountIP)
			}
			c.advance(wait - time.Millisecond)
			if d := guess(t, l, a); d.Allowed || d.RetryAfter != time.Millisecond {
				t.Fatalf("a millisecond early: %+v", d)
			}
			c.advance(time.Millisecond)
			if d := guess(t, l, a); !d.Allowed {
				t.Fatalf("after the wait: %+v", d)
			}
		}
		if len(*throttled) != 16 || (*throttled)[0] != ratelimit.SignInAccountIP {
			t.Errorf("throttled %d times (%v), want 16", len(*throttled), *throttled)
		}
	})
	t.Run("refused guesses do not count", func(t *testing.T) {
		l, c, _ := newLimiter(t)
		a := ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1"}
		for range testLimits.AccountIPFailures {
			guess(t, l, a)
		}
		for range 50 {
			guess(t, l, a)
		}
		c.advance(time.Second)
		if d := guess(t, l, a); !d.Allowed {
			t.Fatalf("the wait grew with refused guesses: %+v", d)
		}
	})
	t.Run("the account's counter stops guesses from many addresses", func(t *testing.T) {
		l, _, _ := newLimiter(t)
		for i := range testLimits.AccountFailures {
			if d := guess(t, l, ratelimit.Attempt{Account: "alice@example.com", IP: fmt.Sprintf("192.0.2.%d", i)}); !d.Allowed {
				t.Fatalf("guess %d refused", i)
			}
		}
		d := guess(t, l, ratelimit.Attempt{Account: "alice@example.com", IP: "198.51.100.7"})
		if d.Allowed || d.Kind != ratelimit.SignInAccount {
			t.Fatalf("a fresh address after the account's budget: %+v", d)
		}
	})
	t.Run("the address's counter stops guesses at many accounts", func(t *testing.T) {
		l, _, _ := newLimiter(t)
		for i := range testLimits.IPFailures {
			if d := guess(t, l, ratelimit.Attempt{Account: fmt.Sprintf("user%d@example.com", i), IP: "192.0.2.1"}); !d.Allowed {
				t.Fatalf("guess %d refused", i)
			}
		}
		d := guess(t, l, ratelimit.Attempt{Account: "fresh@example.com", IP: "192.0.2.1"})
		if d.Allowed || d.Kind != ratelimit.SignInIP {
			t.Fatalf("a fresh account from a busy address: %+v", d)
		}
		if d := guess(t, l, ratelimit.Attempt{Account: "fresh@example.com", IP: "192.0.2.2"}); !d.Allowed {
			t.Fatalf("another address: %+v", d)
		}
	})
	t.Run("the window ends and the count starts over", func(t *testing.T) {
		l, c, _ := newLimiter(t)
		a := ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1"}
		for range testLimits.AccountIPFailures {
			guess(t, l, a)
		}
		c.advance(24 * time.Hour)
		for i := range testLimits.AccountIPFailures {
			if d := guess(t, l, a); !d.Allowed {
				t.Fatalf("guess %d of the next day refused: %+v", i+1, d)
			}
		}
	})
}

func TestUnknownAndKnownEmailsAreThrottledAlike(t *testing.T) {
	// The limiter never asks whether an account exists; a known device of
	// the real account changes nothing for other browsers.
	l, c, _ := newLimiter(t)
	ctx := context.Background()
	s, _, err := l.BeginSignIn(ctx, ratelimit.Attempt{Account: "alice@example.com", IP: "203.0.113.9", Device: "alice-laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Succeeded(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(account, ip string) []ratelimit.Decision {
		var out []ratelimit.Decision
		for range 12 {
			out = append(out, guess(t, l, ratelimit.Attempt{Account: account, IP: ip, Device: "attacker"}))
			c.advance(300 * time.Millisecond)
		}
		return out
	}
	start := c.t
	real := run("alice@example.com", "192.0.2.1")
	c.t = start
	nobody := run("nobody@example.com", "192.0.2.2")
	for i := range real {
		if real[i] != nobody[i] {
			t.Fatalf("attempt %d: %+v for a customer, %+v for nobody", i+1, real[i], nobody[i])
		}
	}
}

func TestKnownDeviceKeepsItsOwnBudget(t *testing.T) {
	l, c, _ := newLimiter(t)
	ctx := context.Background()
	laptop := ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1", Device: "alice-laptop"}
	s, d, err := l.BeginSignIn(ctx, laptop)
	if err != nil || !d.Allowed || s.KnownDevice() {
		t.Fatalf("first sign-in: %+v, known %v, %v", d, s.KnownDevice(), err)
	}
	if err := s.Succeeded(ctx); err != nil {
		t.Fatal(err)
	}
	// An attacker on another address, and one behind the laptop's own
	// address, use up the account's budget and the address's.
	for i := range 40 {
		guess(t, l, ratelimit.Attempt{Account: "alice@example.com", IP: fmt.Sprintf("198.51.100.%d", i%3), Device: fmt.Sprintf("bot-%d", i)})
		guess(t, l, ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1", Device: fmt.Sprintf("nat-%d", i)})
		c.advance(time.Second)
	}
	if d := guess(t, l, ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1", Device: "new-phone"}); d.Allowed {
		t.Fatal("an unknown device was let through after the attack")
	}
	s, d, err = l.BeginSignIn(ctx, laptop)
	if err != nil || !d.Allowed || !s.KnownDevice() {
		t.Fatalf("the known laptop during the attack: %+v, known %v, %v", d, s.KnownDevice(), err)
	}
	// Its own budget is its own: after its free failures it waits too.
	if err := s.Failed(ctx); err != nil {
		t.Fatal(err)
	}
	for range testLimits.DeviceFailures - 1 {
		guess(t, l, laptop)
	}
	if d := guess(t, l, laptop); d.Allowed || d.Kind != ratelimit.SignInDevice || d.RetryAfter != time.Second {
		t.Fatalf("the laptop after its own failures: %+v", d)
	}
	// The device is known to alice's account only.
	s, _, _ = l.BeginSignIn(ctx, ratelimit.Attempt{Account: "bob@example.com", IP: "192.0.2.1", Device: "alice-laptop"})
	if s.KnownDevice() {
		t.Error("alice's laptop is known to bob's account")
	}
}

func TestSuccessForgetsTheAddressFailures(t *testing.T) {
	l, _, _ := newLimiter(t)
	ctx := context.Background()
	a := ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1", Device: "phone"}
	for range testLimits.AccountIPFailures - 1 {
		guess(t, l, a)
	}
	s, _, _ := l.BeginSignIn(ctx, a)
	if err := s.Succeeded(ctx); err != nil {
		t.Fatal(err)
	}
	// A new browser on that address has the (account, address) budget
	// whole again.
	b := ratelimit.Attempt{Account: "alice@example.com", IP: "192.0.2.1", Device: "tablet"}
	for i := range testLimits.AccountIPFailures {
		if d := guess(t, l, b); !d.Allowed {
			t.Fatalf("guess %d refused: %+v", i+1, d)
		}
	}
}

func TestTake(t *testing.T) {
	l, c, throttled := newLimiter(t)
	ctx := context.Background()
	key := ratelimit.Key{Kind: ratelimit.Registration, Subject: "192.0.2.1"}
	for i := range testLimits.RegistrationsPerIP {
		if d, err := l.Take(ctx, key); err != nil || !d.Allowed {
			t.Fatalf("registration %d: %+v, %v", i+1, d, err)
		}
	}
	d, err := l.Take(ctx, key)
	if err != nil || d.Allowed || d.RetryAfter != 2*time.Second || d.Kind != ratelimit.Registration {
		t.Fatalf("over the budget: %+v, %v", d, err)
	}
	// The refused one counted: the wait is now from it, and doubled.
	c.advance(time.Second)
	if d, _ := l.Take(ctx, key); d.Allowed {
		t.Fatal("a retry after the first wait but before the doubled one went through")
	}
	c.advance(4 * time.Second)
	if d, _ := l.Take(ctx, key); !d.Allowed {
		t.Fatalf("after waiting: %+v", d)
	}
	if d, _ := l.Take(ctx, ratelimit.Key{Kind: ratelimit.Registration, Subject: "192.0.2.2"}); !d.Allowed {
		t.Fatal("another address was refused")
	}
	if len(*throttled) != 2 {
		t.Errorf("throttled %v, want two registrations", *throttled)
	}
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	var l *ratelimit.Limiter
	ctx := context.Background()
	s, d, err := l.BeginSignIn(ctx, ratelimit.Attempt{Account: "a@example.com"})
	if err != nil || !d.Allowed || s.Failed(ctx) != nil || s.Succeeded(ctx) != nil {
		t.Fatalf("%+v %v", d, err)
	}
	if d, err := l.Take(ctx, ratelimit.Key{Kind: ratelimit.ClientAuth, Subject: "c"}); err != nil || !d.Allowed {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := ratelimit.NewMemory(100)
	// An attack under way: many events on one counter.
	for range 50 {
		if _, err := m.AddCounters(ctx, now, []storage.CounterAdd{{ID: "victim", Window: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	// A flood of new subjects.
	for i := range 10_000 {
		if _, err := m.AddCounters(ctx, now, []storage.CounterAdd{{ID: fmt.Sprint("flood-", i), Window: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() > 100 {
		t.Fatalf("holds %d counters, capacity 100", m.Len())
	}
	got, _ := m.GetCounters(ctx, now, []string{"victim"})
	if len(got) != 1 || got[0].Hits != 50 {
		t.Fatalf("the busy counter was dropped by the flood: %+v", got)
	}
	// Ended counters go first, and the periodic collection is bounded.
	later := now.Add(2 * time.Hour)
	if n, _ := m.DeleteExpiredCounters(ctx, later, 30); n != 30 {
		t.Fatalf("collected %d, limit 30", n)
	}
	if n, _ := m.DeleteExpiredCounters(ctx, later, 1000); n != 70 {
		t.Fatalf("collected %d, want the other 70", n)
	}
}
