package gormstore

import (
	"testing"
	"time"
)

func TestTokenCache(t *testing.T) {
	row := tokenRow{Kind: kindAccess, Signature: "sig", RequestID: "req"}
	t.Run("an entry is used for ttl after its read began, not longer", func(t *testing.T) {
		c := newTokenCache(time.Second)
		read := time.Now()
		c.put(row, read)
		if _, ok := c.get("sig", read.Add(999*time.Millisecond)); !ok {
			t.Error("an entry younger than ttl is not used")
		}
		if _, ok := c.get("sig", read.Add(time.Second)); ok {
			t.Error("an entry ttl old is still used")
		}
	})
	t.Run("a revocation of the request hides what was read before it", func(t *testing.T) {
		c := newTokenCache(time.Minute)
		read := time.Now()
		c.put(row, read)
		c.change("req")
		if _, ok := c.get("sig", time.Now()); ok {
			t.Error("a revoked token is still used")
		}
	})
	t.Run("a read that raced with the revocation is not used", func(t *testing.T) {
		c := newTokenCache(time.Minute)
		read := time.Now() // began before the revocation, stored after it
		c.change("req")
		c.put(row, read)
		if _, ok := c.get("sig", time.Now()); ok {
			t.Error("a read from before the revocation is used")
		}
		time.Sleep(time.Millisecond)
		c.put(row, time.Now()) // a read after the revocation (the row came back: another token of the request)
		if _, ok := c.get("sig", time.Now()); !ok {
			t.Error("a read after the revocation is not used")
		}
	})
	t.Run("revoking all hides every entry; other requests are untouched by one", func(t *testing.T) {
		c := newTokenCache(time.Minute)
		other := tokenRow{Kind: kindAccess, Signature: "sig2", RequestID: "req2"}
		read := time.Now()
		c.put(row, read)
		c.put(other, read)
		c.change("req")
		if _, ok := c.get("sig2", time.Now()); !ok {
			t.Error("revoking one request hid another's token")
		}
		c.changeAll()
		if _, ok := c.get("sig2", time.Now()); ok {
			t.Error("revoking all left a token")
		}
	})
	t.Run("a zero ttl caches nothing", func(t *testing.T) {
		c := newTokenCache(0)
		c.put(row, time.Now())
		if _, ok := c.get("sig", time.Now()); ok {
			t.Error("a disabled cache answered")
		}
	})
}
