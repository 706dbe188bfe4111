package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// identityTests registers the tests of federated sign-in: links between
// customers and upstream accounts, sign-ins in progress, pending links, and
// the identity provider a browser session remembers.
func identityTests(t *testing.T, run func(t *testing.T, name string, fn func(t *testing.T, s storage.Store))) {
	t.Helper()
	run(t, "create, get, list and update links in UTC", testIdentityRoundTrip)
	run(t, "an account is linked once and a customer has one account per provider", testIdentityUnique)
	run(t, "a customer and their first link are created together or not at all", testUserWithIdentity)
	run(t, "delete asks the check with the remaining links and keeps everything when it fails", testIdentityDeleteCheck)
	run(t, "concurrent deletes cannot remove the last link", testIdentityDeleteConcurrent)
	run(t, "a federation state is taken once, and an expired one is not found", testFederationStateTakeOnce)
	run(t, "a form_post callback is recorded once on a live state", testFederationCallback)
	run(t, "a pending link is read until taken, and an expired one is not found", testPendingLink)
	run(t, "a browser session keeps its identity provider", testSessionIDP)
}

func sampleIdentity(provider, subject, userID string) storage.Identity {
	return storage.Identity{Provider: provider, Subject: subject, UserID: userID, Email: subject + "@" + provider + ".example"}
}

func testIdentityRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u1", "ada@example.com")
	created := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.FixedZone("UTC+5", 5*3600))
	want := sampleIdentity("google", "1089", "u1")
	want.CreatedAt = created
	must(t, s.CreateIdentity(ctx, want))
	must(t, s.CreateIdentity(ctx, sampleIdentity("facebook", "77", "u1")))

	got, err := s.GetIdentity(ctx, "google", "1089")
	must(t, err)
	if got.CreatedAt.Location() != time.UTC || got.LastUsedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.CreatedAt.Location(), got.LastUsedAt.Location())
	}
	if got.Provider != "google" || got.Subject != "1089" || got.UserID != "u1" || got.Email != want.Email ||
		!got.CreatedAt.Equal(created) || !got.LastUsedAt.Equal(created) {
		t.Errorf("round trip:\n got %+v\nwant %+v (LastUsedAt = CreatedAt)", got, want)
	}
	if _, err := s.GetIdentity(ctx, "google", "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown account: %v, want ErrNotFound", err)
	}
	if _, err := s.GetIdentity(ctx, "facebook", "1089"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a subject of another provider: %v, want ErrNotFound", err)
	}

	list, err := s.ListIdentities(ctx, "u1")
	must(t, err)
	if len(list) != 2 || list[0].Provider != "facebook" || list[1].Provider != "google" {
		t.Errorf("list = %+v, want facebook then google", list)
	}
	if none, err := s.ListIdentities(ctx, "nobody"); err != nil || len(none) != 0 {
		t.Errorf("list of a customer without links = %v, %v", none, err)
	}

	used := time.Now().UTC().Truncate(time.Microsecond)
	must(t, s.UpdateIdentity(ctx, "google", "1089", func(id storage.Identity) (storage.Identity, error) {
		id.Email = "new@gmail.example"
		id.LastUsedAt = used
		id.UserID = "thief"
		id.Subject = "other"
		id.CreatedAt = used
		return id, nil
	}))
	got, err = s.GetIdentity(ctx, "google", "1089")
	must(t, err)
	if got.Email != "new@gmail.example" || !got.LastUsedAt.Equal(used) || got.UserID != "u1" || !got.CreatedAt.Equal(created) {
		t.Errorf("after update: %+v", got)
	}
	boom := errors.New("boom")
	err = s.UpdateIdentity(ctx, "google", "1089", func(id storage.Identity) (storage.Identity, error) {
		id.Email = "half@example.com"
		return id, boom
	})
	if err != boom {
		t.Errorf("failing update: %v, want the function's error as it is", err)
	}
	if got, _ := s.GetIdentity(ctx, "google", "1089"); got.Email != "new@gmail.example" {
		t.Errorf("a failed update was written: %+v", got)
	}
	err = s.UpdateIdentity(ctx, "google", "nope", func(id storage.Identity) (storage.Identity, error) { return id, nil })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update of an unknown link: %v, want ErrNotFound", err)
	}
}

func testIdentityUnique(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, "u1", "ada@example.com")
	mustCreateUser(t, s, "u2", "grace@example.com")
	must(t, s.CreateIdentity(ctx, sampleIdentity("google", "1089", "u1")))
	if err := s.CreateIdentity(ctx, sampleIdentity("google", "1089", "u2")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("an account linked to another customer: %v, want ErrAlreadyExists", err)
	}
	if err := s.CreateIdentity(ctx, sampleIdentity("google", "2000", "u1")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("a second account of the same provider: %v, want ErrAlreadyExists", err)
	}
	must(t, s.CreateIdentity(ctx, sampleIdentity("google", "2000", "u2")))
	must(t, s.CreateIdentity(ctx, sampleIdentity("facebook", "1089", "u1")))
}

func testUserWithIdentity(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := sampleUser("u1", "Ada@Example.com")
	u.PasswordHash = ""
	must(t, s.CreateUserWithIdentity(ctx, u, sampleIdentity("google", "1089", "ignored")))
	got, err := s.GetUser(ctx, "u1")
	must(t, err)
	if got.Email != "ada@example.com" || got.Name != u.Name || got.PasswordHash != "" {
		t.Errorf("customer = %+v", got)
	}
	link, err := s.GetIdentity(ctx, "google", "1089")
	must(t, err)
	if link.UserID != "u1" {
		t.Errorf("the link names %q, want the new customer u1", link.UserID)
	}

	// A taken email: neither the customer nor the link is stored.
	err = s.CreateUserWithIdentity(ctx, sampleUser("u2", "ada@example.com"), sampleIdentity("facebook", "77", "u2"))
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken email: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.GetIdentity(ctx, "facebook", "77"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the link of a refused customer was stored: %v", err)
	}
	// A linked account: the customer is rolled back too.
	err = s.CreateUserWithIdentity(ctx, sampleUser("u3", "grace@example.com"), sampleIdentity("google", "1089", "u3"))
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("linked account: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.GetUser(ctx, "u3"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the customer of a refused link was stored: %v", err)
	}
}

// errLast is what the tests' check answers for the last way to sign in.
var errLast = errors.New("the last way to sign in")

// keepOne refuses to remove the last way to sign in: a customer without a
// password keeps at least one link.
func keepOne(u storage.User, remaining []storage.Identity) error {
	if u.PasswordHash == "" && len(remaining) == 0 {
		return errLast
	}
	return nil
}

func testIdentityDeleteCheck(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := sampleUser("u1", "ada@example.com")
	u.PasswordHash = ""
	must(t, s.CreateUserWithIdentity(ctx, u, sampleIdentity("google", "1089", "u1")))
	must(t, s.CreateIdentity(ctx, sampleIdentity("facebook", "77", "u1")))

	var seen []storage.Identity
	must(t, s.DeleteIdentity(ctx, "u1", "google", func(u storage.User, remaining []storage.Identity) error {
		if u.ID != "u1" {
			t.Errorf("check got customer %q", u.ID)
		}
		seen = remaining
		return keepOne(u, remaining)
	}))
	if len(seen) != 1 || seen[0].Provider != "facebook" {
		t.Errorf("check saw %+v, want only the facebook link", seen)
	}
	if _, err := s.GetIdentity(ctx, "google", "1089"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted link: %v, want ErrNotFound", err)
	}
	if err := s.DeleteIdentity(ctx, "u1", "facebook", keepOne); err != errLast {
		t.Errorf("removing the last way to sign in: %v, want the check's error as it is", err)
	}
	if _, err := s.GetIdentity(ctx, "facebook", "77"); err != nil {
		t.Errorf("a refused delete removed the link: %v", err)
	}
	if err := s.DeleteIdentity(ctx, "u1", "github", keepOne); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown link: %v, want ErrNotFound", err)
	}
	if err := s.DeleteIdentity(ctx, "nobody", "facebook", keepOne); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown customer: %v, want ErrNotFound", err)
	}
}

func testIdentityDeleteConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := sampleUser("u1", "ada@example.com")
	u.PasswordHash = ""
	must(t, s.CreateUserWithIdentity(ctx, u, sampleIdentity("google", "1089", "u1")))
	must(t, s.CreateIdentity(ctx, sampleIdentity("facebook", "77", "u1")))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, provider := range []string{"google", "facebook"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.DeleteIdentity(ctx, "u1", provider, keepOne)
		}()
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		switch {
		case err == errLast:
			refused++
		case err != nil:
			t.Errorf("delete: %v", err)
		}
	}
	left, err := s.ListIdentities(ctx, "u1")
	must(t, err)
	if refused != 1 || len(left) != 1 {
		t.Errorf("%d deletes refused, %d links left; want exactly one of each", refused, len(left))
	}
}

func sampleFederationState(id string, expiresIn time.Duration) storage.FederationState {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return storage.FederationState{
		ID:             id,
		Provider:       "google",
		Purpose:        storage.FederationLogin,
		Session:        `{"AuthURL":"https://accounts.google.example/o/oauth2/auth?state=x"}`,
		Nonce:          "nonce-1",
		CodeVerifier:   "verifier-1",
		BrowserBinding: "device-hash",
		AuthRequestID:  "ar1",
		UserID:         "u1",
		PendingLinkID:  "pl1",
		CreatedAt:      now,
		ExpiresAt:      now.Add(expiresIn),
	}
}

func testFederationStateTakeOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	want := sampleFederationState("st1", 10*time.Minute)
	want.CreatedAt = want.CreatedAt.In(time.FixedZone("UTC-4", -4*3600))
	must(t, s.CreateFederationState(ctx, want))
	if err := s.CreateFederationState(ctx, want); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken id: %v, want ErrAlreadyExists", err)
	}

	var wg sync.WaitGroup
	got := make([]storage.FederationState, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.TakeFederationState(ctx, "st1")
		}()
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		if err == nil {
			winners++
			g := got[i]
			if g.CreatedAt.Location() != time.UTC || g.ExpiresAt.Location() != time.UTC {
				t.Errorf("times not in UTC: %v %v", g.CreatedAt.Location(), g.ExpiresAt.Location())
			}
			if g.ID != want.ID || g.Provider != want.Provider || g.Purpose != want.Purpose || g.Session != want.Session ||
				g.Nonce != want.Nonce || g.CodeVerifier != want.CodeVerifier || g.BrowserBinding != want.BrowserBinding ||
				g.AuthRequestID != want.AuthRequestID || g.UserID != want.UserID || g.PendingLinkID != want.PendingLinkID ||
				g.Callback != "" || !g.CreatedAt.Equal(want.CreatedAt) || !g.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("round trip:\n got %+v\nwant %+v", g, want)
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("take: %v, want ErrNotFound for the losers", err)
		}
	}
	if winners != 1 {
		t.Errorf("%d callbacks took the state, want exactly 1", winners)
	}

	must(t, s.CreateFederationState(ctx, sampleFederationState("old", -time.Second)))
	if _, err := s.TakeFederationState(ctx, "old"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired state: %v, want ErrNotFound", err)
	}
	if _, err := s.TakeFederationState(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown state: %v, want ErrNotFound", err)
	}
}

func testFederationCallback(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.CreateFederationState(ctx, sampleFederationState("st1", time.Minute)))
	must(t, s.SetFederationCallback(ctx, "st1", "code=abc&state=xyz"))
	if err := s.SetFederationCallback(ctx, "st1", "code=forged&state=xyz"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second callback: %v, want ErrNotFound", err)
	}
	got, err := s.TakeFederationState(ctx, "st1")
	must(t, err)
	if got.Callback != "code=abc&state=xyz" {
		t.Errorf("Callback = %q, want the first one", got.Callback)
	}
	if err := s.SetFederationCallback(ctx, "st1", "code=abc"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("callback on a taken state: %v, want ErrNotFound", err)
	}
	must(t, s.CreateFederationState(ctx, sampleFederationState("old", -time.Second)))
	if err := s.SetFederationCallback(ctx, "old", "code=abc"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("callback on an expired state: %v, want ErrNotFound", err)
	}
}

func samplePendingLink(id string, expiresIn time.Duration) storage.PendingLink {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return storage.PendingLink{
		ID: id, Provider: "facebook", Subject: "77", UserID: "u1", Email: "ada@example.com",
		BrowserBinding: "device-hash", AuthRequestID: "ar1", CreatedAt: now, ExpiresAt: now.Add(expiresIn),
	}
}

func testPendingLink(t *testing.T, s storage.Store) {
	ctx := context.Background()
	want := samplePendingLink("pl1", 10*time.Minute)
	must(t, s.CreatePendingLink(ctx, want))
	if err := s.CreatePendingLink(ctx, want); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("taken id: %v, want ErrAlreadyExists", err)
	}
	for range 2 {
		got, err := s.GetPendingLink(ctx, "pl1")
		must(t, err)
		if got != want {
			t.Errorf("get:\n got %+v\nwant %+v", got, want)
		}
	}
	got, err := s.TakePendingLink(ctx, "pl1")
	must(t, err)
	if got != want || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("take:\n got %+v\nwant %+v", got, want)
	}
	if _, err := s.TakePendingLink(ctx, "pl1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second take: %v, want ErrNotFound", err)
	}
	if _, err := s.GetPendingLink(ctx, "pl1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get after take: %v, want ErrNotFound", err)
	}
	must(t, s.CreatePendingLink(ctx, samplePendingLink("old", -time.Second)))
	if _, err := s.GetPendingLink(ctx, "old"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get of an expired link: %v, want ErrNotFound", err)
	}
	if _, err := s.TakePendingLink(ctx, "old"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("take of an expired link: %v, want ErrNotFound", err)
	}
}

func testSessionIDP(t *testing.T, s storage.Store) {
	ctx := context.Background()
	fed := sampleSession("hash-fed", time.Now())
	fed.AMR, fed.IDP = []string{"fed"}, "google"
	must(t, s.CreateSession(ctx, fed))
	must(t, s.CreateSession(ctx, sampleSession("hash-pwd", time.Now())))
	got, err := s.GetSession(ctx, "hash-fed")
	must(t, err)
	if got.IDP != "google" || len(got.AMR) != 1 || got.AMR[0] != "fed" {
		t.Errorf("federated session: IDP %q AMR %v", got.IDP, got.AMR)
	}
	got, err = s.GetSession(ctx, "hash-pwd")
	must(t, err)
	if got.IDP != "" {
		t.Errorf("password session: IDP %q, want none", got.IDP)
	}
}
