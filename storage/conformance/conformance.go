// Package conformance is the test suite every storage.Store passes. A
// backend's tests call RunTests with a function that returns a fresh, empty,
// migrated store; the suite exists to catch the differences between
// databases that unit tests of one dialect miss: time zones, unique
// violations, transactions that roll back whole, and races between
// concurrent token rotations.
package conformance

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
)

// RunTests runs the whole suite. newStore must return a fresh, migrated,
// empty store that indexes the customer attribute SearchableAttribute;
// the suite closes it.
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	run := func(t *testing.T, name string, fn func(t *testing.T, s storage.Store)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			fn(t, s)
		})
	}
	t.Run("clients", func(t *testing.T) {
		run(t, "create then lookup returns the same client in UTC", testClientRoundTrip)
		run(t, "a taken client id is ErrAlreadyExists", testClientDuplicate)
		run(t, "unknown client is ErrNotFound", testClientNotFound)
		run(t, "list pages by id", testClientList)
		run(t, "update applies the function atomically", testClientUpdate)
		run(t, "a change in a transaction shows in the cache once committed", testClientChangeInTransaction)
		run(t, "a failing update changes nothing", testClientUpdateAbort)
		run(t, "delete removes the client and its tokens", testClientDelete)
	})
	t.Run("signing keys", func(t *testing.T) {
		run(t, "activating a key demotes the previous one", testKeyActivate)
		run(t, "onlyIfNone refuses a second active key", testKeyOnlyIfNone)
		run(t, "concurrent first activations leave one active key", testKeyConcurrentActivate)
		run(t, "retire erases a published key and refuses the active one", testKeyRetire)
	})
	t.Run("tokens", func(t *testing.T) {
		run(t, "access token round trip keeps the request", testAccessTokenRoundTrip)
		run(t, "concurrent access tokens are all committed", testAccessTokenConcurrent)
		run(t, "a shared read is the stored request, and ends with a revocation", testAccessTokenShared)
		run(t, "an invalidated code is returned with ErrInvalidatedAuthorizeCode", testCodeInvalidate)
		run(t, "a code cannot be invalidated twice", testCodeInvalidateTwice)
		run(t, "an expired code is ErrExpired, which is ErrNotFound", testCodeExpired)
		run(t, "rotation deactivates the old refresh token and drops its access tokens", testRefreshRotate)
		run(t, "of two concurrent rotations exactly one wins", testRefreshConcurrentRotate)
		run(t, "revocation acts on the whole family", testRevokeFamily)
		run(t, "a nil session prototype is accepted", testNilSession)
		run(t, "a rolled-back transaction leaves nothing", testTxRollback)
		run(t, "a committed transaction keeps everything", testTxCommit)
		run(t, "openid connect and pkce sessions", testOIDCAndPKCE)
		run(t, "a client assertion jti is accepted once", testClientAssertionJTI)
		run(t, "revoking a subject's tokens spares other subjects and clients", testRevokeTokensOf)
		run(t, "a sealed access token's revocation is recorded until it expires", testSealedRevocation)
	})
	t.Run("users", func(t *testing.T) {
		run(t, "create then get returns the same user in UTC with the address", testUserRoundTrip)
		run(t, "an email taken in another case or a taken id is ErrAlreadyExists", testUserDuplicate)
		run(t, "lookup by email ignores case", testUserByEmail)
		run(t, "users without an email do not collide", testUserWithoutEmail)
		run(t, "update keeps the id and refuses a taken email", testUserUpdate)
		run(t, "a recent read sees this store's update and delete at once", testUserRecent)
		run(t, "a failing update changes nothing and returns the function's error", testUserUpdateAbort)
	})
	t.Run("imports", func(t *testing.T) {
		importTests(t, run)
		initialLoadTests(t, run)
	})
	t.Run("sessions", func(t *testing.T) {
		run(t, "create, get, touch and delete; delete returns the clients sorted", testSessionLifecycle)
		run(t, "a taken id or sid is ErrAlreadyExists", testSessionDuplicate)
		run(t, "touch never moves LastSeenAt back", testSessionTouchForwardOnly)
		run(t, "adding a client twice is no error", testSessionClientTwice)
	})
	t.Run("consents", func(t *testing.T) {
		run(t, "a grant merges scopes in order without duplicates", testConsentMerge)
		run(t, "concurrent grants lose no scope", testConsentConcurrent)
	})
	t.Run("auth requests", func(t *testing.T) {
		run(t, "create, get and delete round trip in UTC", testAuthRequestRoundTrip)
		run(t, "an expired request is not found", testAuthRequestExpired)
		run(t, "the session that signed in is recorded on the request", testAuthRequestSession)
	})
	t.Run("identities", func(t *testing.T) { identityTests(t, run) })
	t.Run("registration tokens", func(t *testing.T) {
		run(t, "uses are spent atomically, expired and deleted tokens are refused", testRegistrationTokenUses)
	})
	t.Run("admin", func(t *testing.T) { adminTests(t, run) })
	t.Run("throttle", func(t *testing.T) { throttleTests(t, run) })
	t.Run("events and jobs", func(t *testing.T) { eventsTests(t, run) })
	t.Run("collect", func(t *testing.T) {
		run(t, "one pass removes every expired kind in batches, keeps live rows and counts by kind", testCollect)
	})
	t.Run("second factors", func(t *testing.T) { mfaTests(t, run) })
	t.Run("email tokens", func(t *testing.T) { emailTokenTests(t, run) })
	t.Run("passkeys", func(t *testing.T) { passkeyTests(t, run) })
	t.Run("roles", func(t *testing.T) { roleTests(t, run) })
	t.Run("attributes", func(t *testing.T) { attributeTests(t, run) })
	t.Run("remembered devices", func(t *testing.T) { mfaDeviceTests(t, run) })
}
