package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/gatehouse-id/gatehouse/storage"
)

func newSession() *openid.DefaultSession { return openid.NewDefaultSession() }

// newRequest builds a request like the ones fosite stores.
func newRequest(c *storage.Client, id, subject string) *fosite.Request {
	r := fosite.NewRequest()
	r.ID = id
	r.Client = c
	r.RequestedAt = time.Now().UTC().Truncate(time.Microsecond)
	r.RequestedScope = fosite.Arguments{"openid", "offline_access"}
	r.GrantedScope = fosite.Arguments{"openid", "offline_access"}
	r.RequestedAudience = fosite.Arguments{"https://api.example"}
	r.GrantedAudience = fosite.Arguments{"https://api.example"}
	r.Form = url.Values{"redirect_uri": {"https://app.example/cb"}, "nonce": {"n-0S6_WzA2Mj"}}
	sess := newSession()
	sess.Subject = subject
	sess.Claims.Subject = subject
	sess.Claims.AuthTime = time.Now().UTC().Truncate(time.Second)
	exp := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	sess.ExpiresAt = map[fosite.TokenType]time.Time{
		fosite.AccessToken: exp, fosite.RefreshToken: exp, fosite.AuthorizeCode: exp,
	}
	r.Session = sess
	return r
}

func clientAndRequest(t *testing.T, s storage.Store, reqID string) (*storage.Client, *fosite.Request) {
	t.Helper()
	c := mustCreateClient(t, s, "client-"+reqID)
	return &c, newRequest(&c, reqID, "alice")
}

func testAccessTokenRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "r1")
	if err := s.CreateAccessTokenSession(ctx, "sig1", req); err != nil {
		t.Fatal(err)
	}
	sess := newSession()
	got, err := s.GetAccessTokenSession(ctx, "sig1", sess)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetID() != "r1" || got.GetClient().GetID() != "client-r1" {
		t.Errorf("id %q client %q", got.GetID(), got.GetClient().GetID())
	}
	if !got.GetRequestedAt().Equal(req.RequestedAt) || got.GetRequestedAt().Location() != time.UTC {
		t.Errorf("RequestedAt = %v, want %v in UTC", got.GetRequestedAt(), req.RequestedAt)
	}
	if fmt.Sprint(got.GetGrantedScopes()) != "[openid offline_access]" || fmt.Sprint(got.GetGrantedAudience()) != "[https://api.example]" {
		t.Errorf("scopes %v audience %v", got.GetGrantedScopes(), got.GetGrantedAudience())
	}
	if got.GetRequestForm().Get("nonce") != "n-0S6_WzA2Mj" {
		t.Errorf("form = %v", got.GetRequestForm())
	}
	if got.GetSession() != sess || sess.Subject != "alice" || sess.Claims.Subject != "alice" {
		t.Errorf("session not decoded into the prototype: %+v", sess)
	}
	if !sess.GetExpiresAt(fosite.AccessToken).Equal(req.Session.GetExpiresAt(fosite.AccessToken)) {
		t.Errorf("expiry = %v", sess.GetExpiresAt(fosite.AccessToken))
	}
	if err := s.DeleteAccessTokenSession(ctx, "sig1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "sig1", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

// testAccessTokenShared checks GetAccessTokenShared: the same request as
// GetAccessTokenSession, decoded into a session of newSession's making,
// read concurrently, and gone at once after a revocation through the
// store even when it was shared a moment before.
func testAccessTokenShared(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "shared")
	must(t, s.CreateAccessTokenSession(ctx, "sig-shared", req))
	proto := func() fosite.Session { return newSession() }
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.GetAccessTokenShared(ctx, "sig-shared", proto)
			if err != nil {
				errs <- err
				return
			}
			sess, ok := got.GetSession().(*openid.DefaultSession)
			if !ok || got.GetID() != "shared" || sess.Subject != "alice" || fmt.Sprint(got.GetGrantedScopes()) != "[openid offline_access]" ||
				!sess.GetExpiresAt(fosite.AccessToken).Equal(req.Session.GetExpiresAt(fosite.AccessToken)) {
				errs <- fmt.Errorf("shared read: id %q session %#v", got.GetID(), got.GetSession())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	must(t, s.RevokeAccessToken(ctx, "shared"))
	if _, err := s.GetAccessTokenShared(ctx, "sig-shared", proto); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("after revocation: %v, want ErrNotFound", err)
	}
	if _, err := s.GetAccessTokenShared(ctx, "no-such-token", proto); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
}

func testAccessTokenConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "many")
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := *req
			r.ID = fmt.Sprintf("many-%d", i)
			errs <- s.CreateAccessTokenSession(ctx, fmt.Sprintf("sig-%d", i), &r)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		got, err := s.GetAccessTokenSession(ctx, fmt.Sprintf("sig-%d", i), newSession())
		if err != nil || got.GetID() != fmt.Sprintf("many-%d", i) {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	t.Run("a duplicate signature fails alone", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([]error, 20)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sig := fmt.Sprintf("fresh-%d", i)
				if i == 7 {
					sig = "sig-0" // already taken
				}
				results[i] = s.CreateAccessTokenSession(ctx, sig, req)
			}()
		}
		wg.Wait()
		for i, err := range results {
			if i == 7 && !errors.Is(err, storage.ErrAlreadyExists) {
				t.Errorf("duplicate: %v, want ErrAlreadyExists", err)
			}
			if i != 7 && err != nil {
				t.Errorf("row %d failed with the duplicate: %v", i, err)
			}
		}
	})
}

func testCodeInvalidate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "code1")
	if err := s.CreateAuthorizeCodeSession(ctx, "code-sig", req); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetAuthorizeCodeSession(ctx, "code-sig", newSession()); err != nil || got.GetID() != "code1" {
		t.Fatalf("fresh code: %v", err)
	}
	if err := s.InvalidateAuthorizeCodeSession(ctx, "code-sig"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAuthorizeCodeSession(ctx, "code-sig", newSession())
	if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		t.Fatalf("used code: err = %v, want ErrInvalidatedAuthorizeCode", err)
	}
	if got == nil || got.GetID() != "code1" {
		t.Fatalf("used code: the request must come back with the error (got %v)", got)
	}
	if _, err := s.GetAuthorizeCodeSession(ctx, "unknown", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("unknown code: %v", err)
	}
}

func testCodeExpired(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "code-expired")
	req.Session.SetExpiresAt(fosite.AuthorizeCode, time.Now().UTC().Add(-time.Second).Truncate(time.Second))
	must(t, s.CreateAuthorizeCodeSession(ctx, "expired-sig", req))
	_, err := s.GetAuthorizeCodeSession(ctx, "expired-sig", newSession())
	if !errors.Is(err, storage.ErrExpired) || !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("expired code: err = %v, want storage.ErrExpired matching fosite.ErrNotFound", err)
	}
}

func testCodeInvalidateTwice(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "code2")
	if err := s.CreateAuthorizeCodeSession(ctx, "c2", req); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.InvalidateAuthorizeCodeSession(ctx, "c2") }()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if !errors.Is(err, storage.ErrConflict) {
			t.Errorf("loser: %v, want ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d invalidations won, want 1", wins)
	}
}

func testRefreshRotate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "fam")
	must(t, s.CreateAccessTokenSession(ctx, "at1", req))
	must(t, s.CreateRefreshTokenSession(ctx, "rt1", "at1", req))
	must(t, s.RotateRefreshToken(ctx, "fam", "rt1"))
	got, err := s.GetRefreshTokenSession(ctx, "rt1", newSession())
	if !errors.Is(err, fosite.ErrInactiveToken) || got == nil || got.GetID() != "fam" {
		t.Fatalf("rotated token: (%v, %v), want the request with ErrInactiveToken", got, err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at1", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("access token of the rotated refresh token: %v, want ErrNotFound", err)
	}
	if err := s.RotateRefreshToken(ctx, "fam", "rt1"); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("rotating an inactive token: %v, want ErrConflict", err)
	}
}

func testRefreshConcurrentRotate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "race")
	must(t, s.CreateRefreshTokenSession(ctx, "rt", "", req))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// As fosite does: rotate and issue the new tokens in one transaction.
			txCtx, err := s.BeginTX(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			err = s.RotateRefreshToken(txCtx, "race", "rt")
			if err == nil {
				err = s.CreateRefreshTokenSession(txCtx, fmt.Sprintf("rt-new-%d", i), "", req)
			}
			if err != nil {
				_ = s.Rollback(txCtx)
				errs[i] = err
				return
			}
			errs[i] = s.Commit(txCtx)
		}()
	}
	wg.Wait()
	wins, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, storage.ErrConflict):
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Fatalf("wins %d conflicts %d, want 1 and 1 (%v)", wins, conflicts, errs)
	}
	found := 0
	for i := range 2 {
		if _, err := s.GetRefreshTokenSession(ctx, fmt.Sprintf("rt-new-%d", i), newSession()); err == nil {
			found++
		}
	}
	if found != 1 {
		t.Errorf("%d new refresh tokens exist, want exactly 1", found)
	}
}

func testRevokeFamily(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "rev")
	must(t, s.CreateAccessTokenSession(ctx, "at-a", req))
	must(t, s.CreateAccessTokenSession(ctx, "at-b", req))
	must(t, s.CreateRefreshTokenSession(ctx, "rt-a", "at-a", req))
	must(t, s.CreateRefreshTokenSession(ctx, "rt-b", "at-b", req))
	_, other := clientAndRequest(t, s, "other")
	must(t, s.CreateAccessTokenSession(ctx, "at-other", other))
	must(t, s.RevokeRefreshToken(ctx, "rev"))
	must(t, s.RevokeAccessToken(ctx, "rev"))
	for _, sig := range []string{"rt-a", "rt-b"} {
		if _, err := s.GetRefreshTokenSession(ctx, sig, newSession()); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Errorf("%s: %v, want ErrInactiveToken", sig, err)
		}
	}
	for _, sig := range []string{"at-a", "at-b"} {
		if _, err := s.GetAccessTokenSession(ctx, sig, newSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", sig, err)
		}
	}
	if _, err := s.GetAccessTokenSession(ctx, "at-other", newSession()); err != nil {
		t.Errorf("another family was revoked too: %v", err)
	}
}

func testNilSession(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "nil")
	must(t, s.CreateAccessTokenSession(ctx, "at", req))
	must(t, s.CreateRefreshTokenSession(ctx, "rt", "at", req))
	if got, err := s.GetAccessTokenSession(ctx, "at", nil); err != nil || got.GetClient().GetID() != "client-nil" {
		t.Errorf("access token with nil session: %v", err)
	}
	if got, err := s.GetRefreshTokenSession(ctx, "rt", nil); err != nil || got.GetID() != "nil" {
		t.Errorf("refresh token with nil session: %v", err)
	}
}

func testTxRollback(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "rb")
	must(t, s.CreateAuthorizeCodeSession(ctx, "code", req))
	txCtx, err := s.BeginTX(ctx)
	must(t, err)
	must(t, s.InvalidateAuthorizeCodeSession(txCtx, "code"))
	must(t, s.CreateAccessTokenSession(txCtx, "at", req))
	must(t, s.CreateRefreshTokenSession(txCtx, "rt", "at", req))
	must(t, s.Rollback(txCtx))
	if _, err := s.GetAccessTokenSession(ctx, "at", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("access token survived rollback: %v", err)
	}
	if _, err := s.GetRefreshTokenSession(ctx, "rt", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("refresh token survived rollback: %v", err)
	}
	if _, err := s.GetAuthorizeCodeSession(ctx, "code", newSession()); err != nil {
		t.Errorf("code invalidation survived rollback: %v", err)
	}
}

func testTxCommit(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "cm")
	must(t, s.CreateAuthorizeCodeSession(ctx, "code", req))
	txCtx, err := s.BeginTX(ctx)
	must(t, err)
	must(t, s.InvalidateAuthorizeCodeSession(txCtx, "code"))
	must(t, s.CreateAccessTokenSession(txCtx, "at", req))
	must(t, s.Commit(txCtx))
	if _, err := s.GetAccessTokenSession(ctx, "at", newSession()); err != nil {
		t.Errorf("access token lost: %v", err)
	}
	if _, err := s.GetAuthorizeCodeSession(ctx, "code", newSession()); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		t.Errorf("code: %v", err)
	}
}

func testOIDCAndPKCE(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, req := clientAndRequest(t, s, "oidc")
	must(t, s.CreateOpenIDConnectSession(ctx, "raw-code.abc", req))
	live := fosite.NewAccessRequest(newSession())
	got, err := s.GetOpenIDConnectSession(ctx, "raw-code.abc", live)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetSession() == live.GetSession() {
		t.Error("the OIDC session was decoded into the live request's session; want a fresh one")
	}
	if sess, ok := got.GetSession().(*openid.DefaultSession); !ok || sess.Claims.Subject != "alice" {
		t.Errorf("session = %#v", got.GetSession())
	}
	must(t, s.DeleteOpenIDConnectSession(ctx, "raw-code.abc"))
	if _, err := s.GetOpenIDConnectSession(ctx, "raw-code.abc", live); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	must(t, s.CreatePKCERequestSession(ctx, "pk", req))
	if got, err := s.GetPKCERequestSession(ctx, "pk", newSession()); err != nil || got.GetRequestForm().Get("redirect_uri") == "" {
		t.Errorf("pkce: %v", err)
	}
	// The PKCE data outlives the code's exchange, until the code expires
	// (see gormstore's DeletePKCERequestSession): the loser of a race for
	// one code must reach the code's invalidation.
	must(t, s.DeletePKCERequestSession(ctx, "pk"))
	must(t, s.DeletePKCERequestSession(ctx, "pk"))
	if _, err := s.GetPKCERequestSession(ctx, "pk", newSession()); err != nil {
		t.Errorf("pkce after its code's exchange: %v", err)
	}
}

func testClientAssertionJTI(t *testing.T, s storage.Store) {
	ctx := context.Background()
	must(t, s.ClientAssertionJWTValid(ctx, "jti-1"))
	must(t, s.SetClientAssertionJWT(ctx, "jti-1", time.Now().Add(time.Minute)))
	if err := s.ClientAssertionJWTValid(ctx, "jti-1"); !errors.Is(err, fosite.ErrJTIKnown) {
		t.Errorf("seen jti: %v, want ErrJTIKnown", err)
	}
	if err := s.SetClientAssertionJWT(ctx, "jti-1", time.Now().Add(time.Minute)); !errors.Is(err, fosite.ErrJTIKnown) {
		t.Errorf("recording a seen jti: %v, want ErrJTIKnown", err)
	}
	must(t, s.SetClientAssertionJWT(ctx, "jti-2", time.Now().Add(-time.Second)))
	must(t, s.ClientAssertionJWTValid(ctx, "jti-2"))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
