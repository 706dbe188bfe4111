package conformance

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// mfaTests are the second factors' rules: enrolment confirmed once, each
// time step and each recovery code used once even by concurrent requests,
// the customer's flag following the credential.
func mfaTests(t *testing.T, run func(*testing.T, string, func(*testing.T, storage.Store))) {
	run(t, "an unconfirmed credential is replaced, a confirmed one is not", testTOTPEnrolment)
	run(t, "confirming sets the customer's flag and an update keeps it", testTOTPConfirmSetsFlag)
	run(t, "a time step is accepted once, concurrently too", testTOTPStepOnce)
	run(t, "a recovery code is used once, concurrently too", testRecoveryCodeOnce)
	run(t, "deleting second factors clears the flag and says what there was", testDeleteMFA)
	run(t, "a step-up keeps the session and records the new methods", testSessionStepUp)
	run(t, "deleting the customer removes their second factors", testDeleteUserRemovesMFA)
}

func mfaUser(t *testing.T, s storage.Store, id string) {
	t.Helper()
	must(t, s.CreateUser(context.Background(), storage.User{ID: id, Email: id + "@example.com"}))
}

func testTOTPEnrolment(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	if _, err := s.GetTOTP(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetTOTP before enrolment: %v, want ErrNotFound", err)
	}
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("first")}))
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("second")}))
	got, err := s.GetTOTP(ctx, "u1")
	must(t, err)
	if !bytes.Equal(got.SealedKey, []byte("second")) || got.Confirmed || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("GetTOTP = %+v, want the second, unconfirmed, in UTC", got)
	}
	must(t, s.ConfirmTOTP(ctx, "u1", 100))
	if err := s.ConfirmTOTP(ctx, "u1", 101); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("confirming twice: %v, want ErrNotFound", err)
	}
	if err := s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("third")}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("PutTOTP over a confirmed credential: %v, want ErrAlreadyExists", err)
	}
	got, err = s.GetTOTP(ctx, "u1")
	must(t, err)
	if !bytes.Equal(got.SealedKey, []byte("second")) || !got.Confirmed || got.LastStep != 100 {
		t.Fatalf("GetTOTP after confirming = %+v", got)
	}
}

func testTOTPConfirmSetsFlag(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	// The flag cannot be set by creating or updating a customer.
	must(t, s.CreateUser(ctx, storage.User{ID: "u2", Email: "u2@example.com", MFA: true}))
	if u, err := s.GetUser(ctx, "u2"); err != nil || u.MFA {
		t.Fatalf("a created customer has MFA %v (%v), want false", u.MFA, err)
	}
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("k")}))
	if u, _ := s.GetUser(ctx, "u1"); u.MFA {
		t.Fatal("an unconfirmed credential set the flag")
	}
	must(t, s.ConfirmTOTP(ctx, "u1", 7))
	must(t, s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.Name, u.MFA = "Renamed", false
		return u, nil
	}))
	u, err := s.GetUser(ctx, "u1")
	must(t, err)
	if !u.MFA || u.Name != "Renamed" {
		t.Fatalf("after confirming and an update: MFA %v name %q, want true, Renamed", u.MFA, u.Name)
	}
	byEmail, err := s.GetUserByEmail(ctx, "u1@example.com")
	must(t, err)
	if !byEmail.MFA {
		t.Error("GetUserByEmail lost the flag")
	}
}

func testTOTPStepOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	if err := s.UseTOTPStep(ctx, "u1", 5); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UseTOTPStep without a credential: %v, want ErrNotFound", err)
	}
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("k")}))
	if err := s.UseTOTPStep(ctx, "u1", 5); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UseTOTPStep on an unconfirmed credential: %v, want ErrNotFound", err)
	}
	must(t, s.ConfirmTOTP(ctx, "u1", 10))
	for _, step := range []int64{10, 9} {
		if err := s.UseTOTPStep(ctx, "u1", step); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("UseTOTPStep(%d) after step 10: %v, want ErrConflict", step, err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.UseTOTPStep(ctx, "u1", 11) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, storage.ErrConflict):
			t.Errorf("a concurrent use: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent uses of one step succeeded, want 1", ok)
	}
	got, err := s.GetTOTP(ctx, "u1")
	must(t, err)
	if got.LastStep != 11 {
		t.Errorf("LastStep = %d, want 11", got.LastStep)
	}
}

func testRecoveryCodeOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	mfaUser(t, s, "u2")
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"h1", "h2", "h3"}))
	must(t, s.ReplaceRecoveryCodes(ctx, "u2", []string{"h1"}))
	if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 3 {
		t.Fatalf("CountRecoveryCodes = %d, %v; want 3", n, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { errs[i] = s.UseRecoveryCode(ctx, "u1", "h1", time.Now()) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, storage.ErrNotFound):
			t.Errorf("a concurrent use: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent uses of one code succeeded, want 1", ok)
	}
	if err := s.UseRecoveryCode(ctx, "u1", "nope", time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an unknown code: %v, want ErrNotFound", err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 2 {
		t.Errorf("after one use %d codes left, want 2", n)
	}
	// Another customer's code of the same hash is theirs alone.
	if n, _ := s.CountRecoveryCodes(ctx, "u2"); n != 1 {
		t.Errorf("the other customer has %d codes, want 1", n)
	}
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"h9"}))
	if err := s.UseRecoveryCode(ctx, "u1", "h2", time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a replaced code: %v, want ErrNotFound", err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 1 {
		t.Errorf("after replacing %d codes left, want 1", n)
	}
}

func testDeleteMFA(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	if had, err := s.DeleteMFA(ctx, "u1"); err != nil || had {
		t.Fatalf("DeleteMFA of none = %v, %v; want false", had, err)
	}
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("k")}))
	must(t, s.ConfirmTOTP(ctx, "u1", 1))
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"h1"}))
	had, err := s.DeleteMFA(ctx, "u1")
	must(t, err)
	if !had {
		t.Error("DeleteMFA did not report the confirmed credential")
	}
	if _, err := s.GetTOTP(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetTOTP after DeleteMFA: %v", err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 0 {
		t.Errorf("%d recovery codes left", n)
	}
	if u, _ := s.GetUser(ctx, "u1"); u.MFA {
		t.Error("the flag stayed set")
	}
}

func testSessionStepUp(t *testing.T, s storage.Store) {
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	bs := sampleSession("hash-1", start)
	bs.AMR, bs.ACR = []string{"pwd"}, "1"
	must(t, s.CreateSession(ctx, bs))
	at := time.Now().In(time.FixedZone("UTC+9", 9*3600)).Truncate(time.Second)
	must(t, s.StepUpSession(ctx, "hash-1", at, []string{"pwd", "otp", "mfa"}, "2"))
	got, err := s.GetSession(ctx, "hash-1")
	must(t, err)
	if !got.AuthTime.Equal(at) || got.AuthTime.Location() != time.UTC || got.ACR != "2" || len(got.AMR) != 3 || got.AMR[1] != "otp" {
		t.Fatalf("after a step-up: %+v", got)
	}
	if got.SID != bs.SID || !got.ExpiresAt.Equal(bs.ExpiresAt) {
		t.Errorf("a step-up changed the sid or the lifetime: %+v", got)
	}
	if err := s.StepUpSession(ctx, "gone", at, nil, "2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("StepUpSession of no session: %v, want ErrNotFound", err)
	}
}

func testDeleteUserRemovesMFA(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mfaUser(t, s, "u1")
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", SealedKey: []byte("k")}))
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"h1"}))
	must(t, s.DeleteUser(ctx, "u1"))
	if _, err := s.GetTOTP(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetTOTP after deleting the customer: %v", err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 0 {
		t.Errorf("%d recovery codes outlived the customer", n)
	}
}
