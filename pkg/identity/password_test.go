package identity

import (
	"strings"
	"testing"
)

var fast = Argon2Params{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash = %s", h)
	}
	if h2, _ := HashPassword("correct horse", fast); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	t.Run("the right password verifies", func(t *testing.T) {
		ok, rehash, err := VerifyPassword("correct horse", h, fast)
		if !ok || rehash || err != nil {
			t.Fatalf("ok=%v rehash=%v err=%v", ok, rehash, err)
		}
	})
	t.Run("a wrong password does not", func(t *testing.T) {
		if ok, _, _ := VerifyPassword("correct horsE", h, fast); ok {
			t.Fatal("wrong password verified")
		}
	})
	t.Run("a hash weaker than the configured parameters asks for a rehash", func(t *testing.T) {
		_, rehash, _ := VerifyPassword("correct horse", h, Argon2Params{MemoryKiB: 16 * 1024, Iterations: 1, Parallelism: 1})
		if !rehash {
			t.Fatal("no rehash asked")
		}
	})
	t.Run("malformed hashes are refused", func(t *testing.T) {
		for _, bad := range []string{"", "plain", "$argon2i$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaA"} {
			if _, _, err := VerifyPassword("x", bad, fast); err == nil {
				t.Errorf("%q accepted", bad)
			}
		}
	})
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{" Alice@Example.COM ": "alice@example.com", "bob@localhost": "bob@localhost"} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "alice", "Alice <alice@example.com>", "a@b", "a@@example.com"} {
		if _, err := NormalizeEmail(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func BenchmarkHashOWASP(b *testing.B) {
	for b.Loop() {
		_, _ = HashPassword("correct horse battery staple", OWASPMinimum)
	}
}

// BenchmarkHashOWASPParallel is the ceiling of password sign-ins: OWASP's
// argon2id on every core.
func BenchmarkHashOWASPParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = HashPassword("correct horse battery staple", OWASPMinimum)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
