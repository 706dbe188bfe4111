package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestMatchesXCrypto compares Argon2id and Argon2i with x/crypto's over
// parameter sets that reach every branch: one and several lanes, one and
// several passes, memory below the minimum (8 blocks a lane) and not a
// multiple of 4p, segments longer than one block of addresses (128) with
// several lanes and passes, outputs shorter and longer than 64 bytes and
// across the 32-byte steps of H', and a Memory reused across hashes of
// different sizes (smaller and larger than it).
func TestMatchesXCrypto(t *testing.T) {
	mem := NewMemory(2048)
	for _, c := range []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{1, 8, 1, 32}, {1, 64, 1, 32}, {2, 64, 1, 32}, {3, 256, 1, 16},
		{1, 64, 4, 32}, {3, 100, 3, 64}, {2, 37, 2, 65}, {4, 512, 4, 128},
		{1, 1024, 1, 4}, {2, 300, 8, 33}, {1, 5, 2, 100}, {3, 256, 1, 32},
		{2, 2048, 2, 32}, {3, 1100, 2, 96}, {1, 16, 16, 97}, {2, 0, 255, 16},
		{2, 4096, 1, 1024}, {1, 600, 1, 31},
	} {
		for _, in := range []struct{ password, salt []byte }{
			{[]byte("password"), []byte("somesaltsomesalt")},
			{nil, []byte("saltsalt")},
			{bytes.Repeat([]byte{0xff}, 300), bytes.Repeat([]byte{7}, 64)},
		} {
			name := fmt.Sprintf("t=%d,m=%d,p=%d,T=%d,pw=%d", c.time, c.memory, c.threads, c.keyLen, len(in.password))
			got := mem.IDKey(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			want := xargon2.IDKey(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			if !bytes.Equal(got, want) {
				t.Errorf("argon2id %s: got %x, x/crypto %x", name, got, want)
			}
			got = mem.Key(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			want = xargon2.Key(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			if !bytes.Equal(got, want) {
				t.Errorf("argon2i %s: got %x, x/crypto %x", name, got, want)
			}
		}
	}
}

// The server's default: OWASP's 19 MiB, 2 passes, 1 lane.
const benchTime, benchMemory, benchThreads = 2, 19 * 1024, 1

// BenchmarkIDKey is one Argon2id hash at the server's default parameters
// in a kept Memory.
func BenchmarkIDKey(b *testing.B) {
	mem := NewMemory(benchMemory)
	for b.Loop() {
		mem.IDKey([]byte("correct horse battery staple"), []byte("somesaltsomesalt"), benchTime, benchMemory, benchThreads, 32)
	}
}

// BenchmarkXCryptoIDKey is the same hash by x/crypto, which allocates its
// memory each time.
func BenchmarkXCryptoIDKey(b *testing.B) {
	for b.Loop() {
		xargon2.IDKey([]byte("correct horse battery staple"), []byte("somesaltsomesalt"), benchTime, benchMemory, benchThreads, 32)
	}
}

// TestRandomParameters compares with x/crypto over random parameter sets
// (a fixed seed), each in a kept Memory first filled with random words, so
// that no result can depend on what the area held before.
func TestRandomParameters(t *testing.T) {
	rng := rand.New(rand.NewPCG(9106, 19))
	mem := NewMemory(1024)
	for i := range 150 {
		mode := []int{typeI, typeID}[rng.IntN(2)]
		passes := 1 + rng.Uint32N(4)
		lanes := uint8(1 + rng.IntN(6))
		memory := rng.Uint32N(1500)
		keyLen := 1 + rng.Uint32N(200)
		password := make([]byte, rng.IntN(40))
		salt := make([]byte, 8+rng.IntN(24))
		for _, b := range [][]byte{password, salt} {
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		}
		for j := range mem.blocks {
			for k := range mem.blocks[j] {
				mem.blocks[j][k] = rng.Uint64()
			}
		}
		var got, want []byte
		if mode == typeI {
			got = mem.Key(password, salt, passes, memory, lanes, keyLen)
			want = xargon2.Key(password, salt, passes, memory, lanes, keyLen)
		} else {
			got = mem.IDKey(password, salt, passes, memory, lanes, keyLen)
			want = xargon2.IDKey(password, salt, passes, memory, lanes, keyLen)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (type %d, t=%d, m=%d, p=%d, T=%d): got %x, x/crypto %x", i, mode, passes, memory, lanes, keyLen, got, want)
		}
	}
}

// TestAreaClearedAfterHash checks that a hash leaves no block derived from
// the password in the kept area.
func TestAreaClearedAfterHash(t *testing.T) {
	mem := NewMemory(64)
	mem.IDKey([]byte("correct horse battery staple"), []byte("somesaltsomesalt"), 2, 64, 1, 32)
	for i := range mem.blocks {
		if mem.blocks[i] != (block{}) {
			t.Fatalf("block %d of the work area is not zero after the hash", i)
		}
	}
}

// TestRFC9106Vectors checks the test vectors of RFC 9106 §5.2 (Argon2i)
// and §5.3 (Argon2id): 32 KiB, 3 passes, 4 lanes, with a secret and
// associated data.
func TestRFC9106Vectors(t *testing.T) {
	password := bytes.Repeat([]byte{1}, 32)
	salt := bytes.Repeat([]byte{2}, 16)
	secret := bytes.Repeat([]byte{3}, 8)
	data := bytes.Repeat([]byte{4}, 12)
	for _, c := range []struct {
		name string
		mode int
		tag  string
	}{
		{"argon2i", typeI, "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8"},
		{"argon2id", typeID, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"},
	} {
		// Once in a fresh Memory, once in one holding an earlier hash.
		mem := NewMemory(32)
		for range 2 {
			got := hex.EncodeToString(mem.derive(c.mode, password, salt, secret, data, 3, 32, 4, 32))
			if got != c.tag {
				t.Errorf("%s: tag %s, want %s", c.name, got, c.tag)
			}
		}
	}
}

// BenchmarkClearArea is what clearing the work area after a hash costs, at
// the server's default memory.
func BenchmarkClearArea(b *testing.B) {
	mem := NewMemory(benchMemory)
	for b.Loop() {
		clear(mem.blocks)
	}
}
