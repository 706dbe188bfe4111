package gormstore

import "time"

// maxCachedTokens bounds the access-token cache: at about 1 KiB a row,
// some 20 MiB at most.
const maxCachedTokens = 20000

// tokenCache keeps the access-token rows read recently (recentCache), so
// that a resource server asking about the same token on every API call
// (introspection, userinfo) costs one database read a ttl, not one a
// call. Rows are cached by signature; a revocation changes the group of a
// request ID, or every entry.
type tokenCache = recentCache[tokenRow]

// newTokenCache returns a cache whose entries live ttl; zero or less turns
// it off.
func newTokenCache(ttl time.Duration) *tokenCache {
	return newRecentCache(ttl, maxCachedTokens,
		func(r tokenRow) string { return r.Signature },
		func(r tokenRow) string { return r.RequestID })
}
