package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// clock is the service's and the throttle's time, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	store *gormstore.Store
	svc   *mfa.Service
	clock *clock
	used  []int
	user  storage.User
}

func newFixture(t *testing.T, databaseURL string) *fixture {
	t.Helper()
	keys, err := secret.Derive([]byte("test-secret-test-secret-test-secret-0123"))
	if err != nil {
		t.Fatal(err)
	}
	// The middle of a 30-second step, so ±1 step is ±30 s exactly.
	f := &fixture{store: gormstoretest.Open(t, databaseURL), clock: &clock{now: time.Unix(1_800_000_015, 0)}}
	limiter := ratelimit.New(ratelimit.Options{
		Counters: ratelimit.NewMemory(1000), Devices: f.store, SubjectKey: []byte("k"),
		Rules: ratelimit.Limits{SecondFactorFailures: 3, BackoffBase: time.Minute, BackoffMax: time.Hour}.Rules(),
		Now:   f.clock.Now,
	})
	f.svc = mfa.New(mfa.Options{
		Store: f.store, Events: events.NewRecorder(f.store), Secrets: keys, Throttle: limiter, Now: f.clock.Now,
		OnRecoveryCodeUsed: func(_ context.Context, _ string, left int) { f.used = append(f.used, left) },
	})
	f.user = storage.User{ID: "u1", Email: "ada@example.com"}
	must(t, f.store.CreateUser(context.Background(), f.user))
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// code computes the code of the key at the time, as an authenticator app.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	must(t, err)
	return c
}

func (f *fixture) events(t *testing.T, typ string) []storage.Event {
	t.Helper()
	es, err := f.store.ListEvents(context.Background(), storage.EventFilter{Type: typ}, storage.Page{})
	must(t, err)
	return es
}

// enrol enrols the customer and returns the key and the recovery codes.
func (f *fixture) enrol(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	e, err := f.svc.BeginTOTP(ctx, f.user)
	must(t, err)
	codes, err := f.svc.ConfirmTOTP(ctx, f.user.ID, code(t, e.Secret, f.clock.Now()))
	must(t, err)
	return e.Secret, codes
}

func TestEnrolment(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		e, err := f.svc.BeginTOTP(ctx, f.user)
		must(t, err)
		t.Run("the key is sealed at rest", func(t *testing.T) {
			stored, err := f.store.GetTOTP(ctx, f.user.ID)
			must(t, err)
			if bytes.Contains(stored.SealedKey, []byte(e.Secret)) || stored.Confirmed {
				t.Fatal("the stored key holds the secret in the clear, or counts before confirmation")
			}
		})
		t.Run("the QR code is a PNG of the otpauth URL", func(t *testing.T) {
			again, err := f.svc.PendingTOTP(ctx, f.user)
			must(t, err)
			if again.Secret != e.Secret || !strings.HasPrefix(again.URL, "otpauth://totp/") || !strings.Contains(again.URL, "secret="+e.Secret) {
				t.Fatalf("PendingTOTP = %q, %q", again.Secret, again.URL)
			}
			b, err := again.PNG(200)
			must(t, err)
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a wrong first code does not confirm", func(t *testing.T) {
			wrong := code(t, e.Secret, f.clock.Now().Add(5*time.Minute))
			if _, err := f.svc.ConfirmTOTP(ctx, f.user.ID, wrong); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("ConfirmTOTP(wrong) = %v", err)
			}
			if u, _ := f.store.GetUser(ctx, f.user.ID); u.MFA {
				t.Fatal("a wrong code enrolled the customer")
			}
		})
		t.Run("the first code confirms, with ten recovery codes and events", func(t *testing.T) {
			codes, err := f.svc.ConfirmTOTP(ctx, f.user.ID, code(t, e.Secret, f.clock.Now()))
			must(t, err)
			if len(codes) != mfa.RecoveryCodeCount {
				t.Fatalf("%d recovery codes, want %d", len(codes), mfa.RecoveryCodeCount)
			}
			if u, _ := f.store.GetUser(ctx, f.user.ID); !u.MFA {
				t.Fatal("not enrolled")
			}
			es := f.events(t, events.UserMFAEnrolled)
			if len(es) != 2 {
				t.Fatalf("%d user.mfa.enrolled events, want 2 (totp, recovery codes)", len(es))
			}
			for _, ev := range es {
				for _, c := range codes {
					if strings.Contains(string(ev.Data), c) || strings.Contains(string(ev.Data), e.Secret) {
						t.Fatal("an event holds a secret")
					}
				}
			}
		})
		t.Run("the confirming code is not accepted again for a sign-in", func(t *testing.T) {
			if err := f.svc.VerifyTOTP(ctx, f.user.ID, code(t, e.Secret, f.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("VerifyTOTP(the enrolment's code) = %v, want ErrInvalidCode", err)
			}
		})
		t.Run("a second enrolment over a confirmed key is refused", func(t *testing.T) {
			if _, err := f.svc.BeginTOTP(ctx, f.user); !errors.Is(err, storage.ErrAlreadyExists) {
				t.Fatalf("BeginTOTP = %v, want ErrAlreadyExists", err)
			}
		})
	})
}

func TestVerifyTOTP(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		secret, _ := f.enrol(t)
		f.clock.Add(10 * time.Minute)
		now := f.clock.Now()
		t.Run("two steps early or late is refused", func(t *testing.T) {
			for _, d := range []time.Duration{-60 * time.Second, 60 * time.Second} {
				if err := f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, now.Add(d))); !errors.Is(err, mfa.ErrInvalidCode) {
					t.Errorf("a code %v away: %v, want ErrInvalidCode", d, err)
				}
			}
		})
		t.Run("one step early is accepted", func(t *testing.T) {
			must(t, f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, now.Add(-30*time.Second))))
		})
		t.Run("the current step is accepted", func(t *testing.T) {
			must(t, f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, now)))
		})
		t.Run("a used code is refused", func(t *testing.T) {
			if err := f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, now)); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("replay: %v, want ErrInvalidCode", err)
			}
		})
		t.Run("one step late is accepted", func(t *testing.T) {
			must(t, f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, now.Add(30*time.Second))))
		})
		t.Run("an earlier step than the last used is refused", func(t *testing.T) {
			f.clock.Add(30 * time.Second)
			// now+0 is within the skew of the new now, but older than the
			// step just used.
			if err := f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, now)); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("an older step: %v, want ErrInvalidCode", err)
			}
		})
	})
}

func TestWrongCodesAreThrottled(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		secret, _ := f.enrol(t)
		f.clock.Add(10 * time.Minute)
		wrong := code(t, secret, f.clock.Now().Add(10*time.Minute))
		// The fixture's rule lets three wrong codes through; malformed
		// ones count like any wrong code.
		for i, c := range []string{wrong, "12345", "abcdef"} {
			if err := f.svc.VerifyTOTP(ctx, f.user.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("wrong code %d: %v", i+1, err)
			}
		}
		var th *mfa.ThrottledError
		if err := f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, f.clock.Now())); !errors.As(err, &th) || th.RetryAfter <= 0 {
			t.Fatalf("the right code while throttled: %v, want *ThrottledError", err)
		}
		if err := f.svc.UseRecoveryCode(ctx, f.user.ID, "whatever"); !errors.As(err, &th) {
			t.Fatalf("a recovery code while throttled: %v, want *ThrottledError", err)
		}
		f.clock.Add(th.RetryAfter)
		must(t, f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, f.clock.Now())))
	})
}

func TestRecoveryCodes(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		_, codes := f.enrol(t)
		t.Run("a code works once, typed in any case and spacing", func(t *testing.T) {
			must(t, f.svc.UseRecoveryCode(ctx, f.user.ID, " "+strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))+" "))
			if err := f.svc.UseRecoveryCode(ctx, f.user.ID, codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("a spent code: %v, want ErrInvalidCode", err)
			}
			if len(f.used) != 1 || f.used[0] != mfa.RecoveryCodeCount-1 {
				t.Fatalf("the hook saw %v, want [9]", f.used)
			}
			es := f.events(t, events.UserMFARecoveryCodeUsed)
			if len(es) != 1 || !strings.Contains(string(es[0].Data), `"recovery_codes_left":9`) || strings.Contains(string(es[0].Data), codes[0]) {
				t.Fatalf("events %+v", es)
			}
		})
		t.Run("another customer's code is no use", func(t *testing.T) {
			must(t, f.store.CreateUser(ctx, storage.User{ID: "u2", Email: "bob@example.com"}))
			if err := f.svc.UseRecoveryCode(ctx, "u2", codes[1]); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("%v", err)
			}
		})
		t.Run("regenerating replaces every code", func(t *testing.T) {
			fresh, err := f.svc.RegenerateRecoveryCodes(ctx, f.user.ID)
			must(t, err)
			if err := f.svc.UseRecoveryCode(ctx, f.user.ID, codes[2]); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("an old code after regenerating: %v", err)
			}
			must(t, f.svc.UseRecoveryCode(ctx, f.user.ID, fresh[0]))
		})
	})
}

func TestRemoveAndReset(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL)
		ctx := context.Background()
		secret, codes := f.enrol(t)
		must(t, f.svc.RemoveTOTP(ctx, f.user.ID))
		if u, _ := f.store.GetUser(ctx, f.user.ID); u.MFA {
			t.Fatal("still enrolled")
		}
		if err := f.svc.VerifyTOTP(ctx, f.user.ID, code(t, secret, f.clock.Now().Add(30*time.Second))); !errors.Is(err, mfa.ErrNotEnrolled) {
			t.Fatalf("VerifyTOTP after removal: %v", err)
		}
		if err := f.svc.UseRecoveryCode(ctx, f.user.ID, codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("a recovery code after removal: %v", err)
		}
		f.enrol(t)
		must(t, f.svc.Reset(ctx, f.user.ID))
		es := f.events(t, events.UserMFARemoved)
		if len(es) != 2 || !strings.Contains(string(es[0].Data), `"customer"`) || !strings.Contains(string(es[1].Data), `"reset"`) {
			t.Fatalf("user.mfa.removed events: %+v", es)
		}
		if err := f.svc.Reset(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Reset of an unknown customer: %v", err)
		}
	})
}
