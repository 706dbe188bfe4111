package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// passkeyTests are the passkeys' rules: unique credential IDs, the MFA
// flag following them, a counter moved on condition, ceremony state
// taken once.
func passkeyTests(t *testing.T, run func(*testing.T, string, func(*testing.T, storage.Store))) {
	run(t, "a passkey round-trips in UTC and sets the customer's flag", testPasskeyRoundTrip)
	run(t, "a taken credential ID is ErrAlreadyExists", testPasskeyDuplicate)
	run(t, "of two concurrent uses with one counter exactly one wins", testPasskeyUseOnce)
	run(t, "deleting passkeys keeps the flag while a TOTP credential remains", testPasskeyDeleteFlag)
	run(t, "a ceremony's state is taken once, and not after it expired", testWebAuthnChallengeOnce)
}

func testPasskeyRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	must(t, s.CreatePasskey(ctx, storage.Passkey{ID: "cred-1", UserID: "u1", Name: "Laptop", Credential: []byte("{}"), SignCount: 3, BackupEligible: true}))
	must(t, s.CreatePasskey(ctx, storage.Passkey{ID: "cred-2", UserID: "u1", Name: "Key", Credential: []byte("{}")}))
	u, err := s.GetUser(ctx, "u1")
	must(t, err)
	if !u.MFA {
		t.Error("a passkey did not set the customer's MFA flag")
	}
	got, err := s.GetPasskey(ctx, "cred-1")
	must(t, err)
	if got.UserID != "u1" || got.Name != "Laptop" || got.SignCount != 3 || !got.BackupEligible || got.CreatedAt.Location() != time.UTC || !got.LastUsedAt.IsZero() {
		t.Fatalf("GetPasskey = %+v", got)
	}
	must(t, s.RenamePasskey(ctx, "u1", "cred-1", "Phone"))
	if err := s.RenamePasskey(ctx, "u2", "cred-1", "Theirs"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("renaming another customer's passkey: %v, want ErrNotFound", err)
	}
	list, err := s.ListPasskeys(ctx, "u1")
	must(t, err)
	if len(list) != 2 || list[0].Name != "Phone" {
		t.Fatalf("ListPasskeys = %+v", list)
	}
	if _, err := s.GetPasskey(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetPasskey(unknown) = %v, want ErrNotFound", err)
	}
}

func testPasskeyDuplicate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	mfaUser(t, s, "u2")
	must(t, s.CreatePasskey(ctx, storage.Passkey{ID: "cred-1", UserID: "u1", Credential: []byte("{}")}))
	if err := s.CreatePasskey(ctx, storage.Passkey{ID: "cred-1", UserID: "u2", Credential: []byte("{}")}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("a second passkey with the ID: %v, want ErrAlreadyExists", err)
	}
	u, err := s.GetUser(ctx, "u2")
	must(t, err)
	if u.MFA {
		t.Error("a refused passkey set the flag (the transaction did not roll back)")
	}
}

func testPasskeyUseOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	must(t, s.CreatePasskey(ctx, storage.Passkey{ID: "cred-1", UserID: "u1", Credential: []byte("{}"), SignCount: 5}))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UsePasskey(ctx, "cred-1", 5, 6, []byte(`{"n":6}`), time.Now())
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, storage.ErrConflict):
			t.Errorf("a losing use: %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d uses won, want 1", won)
	}
	got, err := s.GetPasskey(ctx, "cred-1")
	must(t, err)
	if got.SignCount != 6 || got.LastUsedAt.IsZero() || got.LastUsedAt.Location() != time.UTC {
		t.Fatalf("after use: %+v", got)
	}
	if err := s.UsePasskey(ctx, "nope", 0, 1, nil, time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("using an unknown passkey: %v, want ErrNotFound", err)
	}
}

func testPasskeyDeleteFlag(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	flag := func() bool {
		u, err := s.GetUser(ctx, "u1")
		must(t, err)
		return u.MFA
	}
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("k")}))
	must(t, s.ConfirmTOTP(ctx, "u1", 1))
	must(t, s.CreatePasskey(ctx, storage.Passkey{ID: "cred-1", UserID: "u1", Credential: []byte("{}")}))
	must(t, s.CreatePasskey(ctx, storage.Passkey{ID: "cred-2", UserID: "u1", Credential: []byte("{}")}))
	if _, err := s.DeleteMFA(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if !flag() {
		t.Fatal("removing the TOTP credential cleared the flag while passkeys remain")
	}
	must(t, s.DeletePasskey(ctx, "u1", "cred-1"))
	if err := s.DeletePasskey(ctx, "u1", "cred-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if !flag() {
		t.Fatal("the flag went with one passkey of two")
	}
	n, err := s.DeletePasskeys(ctx, "u1")
	must(t, err)
	if n != 1 || flag() {
		t.Fatalf("DeletePasskeys = %d, flag %v; want 1, cleared", n, flag())
	}
}

func testWebAuthnChallengeOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now()
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "c1", Device: "d", Kind: "login", Data: []byte("{}"), ExpiresAt: now.Add(time.Minute)}))
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "c2", Device: "d", Kind: "login", Data: []byte("{}"), ExpiresAt: now.Add(time.Minute)}))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.TakeWebAuthnChallenge(ctx, "c1", now)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, storage.ErrNotFound):
			t.Errorf("a losing take: %v, want ErrNotFound", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d takes won, want 1", won)
	}
	if _, err := s.TakeWebAuthnChallenge(ctx, "c2", now.Add(2*time.Minute)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an expired challenge: %v, want ErrNotFound", err)
	}
}
