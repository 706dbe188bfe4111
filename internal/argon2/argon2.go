// Package argon2 computes Argon2id and Argon2i (RFC 9106, version 0x13)
// in a work area the caller keeps between hashes.
//
// golang.org/x/crypto/argon2 allocates the whole memory cost on every call:
// a server verifying passwords all day then clears, faults in and
// garbage-collects argon2_memory_kib for each sign-in, which cost about a
// third of a sign-in's CPU beside the hash itself and set the server's
// peak memory (docs/benchmarks.md, "Sign-in cost"). Here a Memory is
// allocated once per hashing slot and overwritten by each hash, so a hash
// allocates no hash memory, only its output and a few small buffers. A
// hash clears the area when it is done (as libargon2 does by default), so
// that the blocks derived from the last password do not stay in memory
// until the next hash.
//
// The results are those of x/crypto's IDKey and Key for the same inputs;
// the tests compare the two over many parameter sets and check RFC 9106's
// test vectors. Lanes are computed one after the other within each slice
// (the reference set of §3.4.2 makes that order valid), so a hash with
// p lanes takes p times the wall time of one lane on one core and the
// same CPU time as x/crypto's, which runs the lanes in parallel.
package argon2

import (
	"encoding/binary"
	"hash"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version computed (RFC 9106 §3.1: 0x13).
const Version = 0x13

// The Argon2 types, RFC 9106 §3.1's y.
const (
	typeI  = 1
	typeID = 2
)

const (
	blockWords    = 128 // 1 KiB blocks of 64-bit words
	syncPoints    = 4   // slices per pass (SL)
	addressesEach = blockWords
)

// block is one 1 KiB block of the memory matrix.
type block [blockWords]uint64

// Memory is the work area of one hash at a time: a Memory must not be
// used by two goroutines at once. A hash needing more than the Memory's
// size uses a temporary area instead, which it does not keep.
type Memory struct {
	blocks []block
}

// NewMemory returns a work area for hashes of up to kib KiB of memory
// cost.
func NewMemory(kib uint32) *Memory {
	return &Memory{blocks: make([]block, kib)}
}

// IDKey derives keyLen bytes from password and salt with Argon2id, time
// passes over memoryKiB KiB in threads lanes: x/crypto's argon2.IDKey.
func (m *Memory) IDKey(password, salt []byte, time, memoryKiB uint32, threads uint8, keyLen uint32) []byte {
	return m.derive(typeID, password, salt, nil, nil, time, memoryKiB, threads, keyLen)
}

// Key derives keyLen bytes from password and salt with Argon2i: x/crypto's
// argon2.Key.
func (m *Memory) Key(password, salt []byte, time, memoryKiB uint32, threads uint8, keyLen uint32) []byte {
	return m.derive(typeI, password, salt, nil, nil, time, memoryKiB, threads, keyLen)
}

// derive runs the whole of RFC 9106 §3.2 for mode, with the optional
// secret value K and associated data X (which only the tests use, for
// RFC 9106's test vectors).
func (m *Memory) derive(mode int, password, salt, secret, data []byte, time, memoryKiB uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initialHash(mode, password, salt, secret, data, time, memoryKiB, uint32(threads), keyLen)

	// §3.2 step 3: m' = 4p·floor(m / 4p) blocks, at least 8p (2 per
	// segment).
	lanes := uint32(threads)
	memory := memoryKiB / (syncPoints * lanes) * (syncPoints * lanes)
	if memory < 2*syncPoints*lanes {
		memory = 2 * syncPoints * lanes
	}
	blocks := m.blocks
	if uint32(len(blocks)) < memory {
		blocks = make([]block, memory)
	}
	blocks = blocks[:memory]
	laneLength := memory / lanes

	firstBlocks(blocks, &h0, lanes, laneLength)
	f := filler{
		blocks:        blocks,
		lanes:         lanes,
		laneLength:    laneLength,
		segmentLength: laneLength / syncPoints,
		time:          time,
		mode:          mode,
	}
	for pass := range time {
		for slice := range uint32(syncPoints) {
			for lane := range lanes {
				f.segment(pass, slice, lane)
			}
		}
	}
	out := finalHash(blocks, lanes, laneLength, keyLen)
	clear(blocks)
	return out
}

// initialHash is H_0 (§3.2 step 1).
func initialHash(mode int, password, salt, secret, data []byte, time, memoryKiB, lanes, keyLen uint32) [blake2b.Size + 8]byte {
	h, _ := blake2b.New512(nil)
	var le [4]byte
	for _, v := range []uint32{lanes, keyLen, memoryKiB, time, Version, uint32(mode)} {
		binary.LittleEndian.PutUint32(le[:], v)
		h.Write(le[:])
	}
	for _, b := range [][]byte{password, salt, secret, data} {
		binary.LittleEndian.PutUint32(le[:], uint32(len(b)))
		h.Write(le[:])
		h.Write(b)
	}
	// The 8 bytes after the digest are filled in by firstBlocks:
	// H_0 || LE32(column) || LE32(lane).
	var out [blake2b.Size + 8]byte
	h.Sum(out[:0])
	return out
}

// firstBlocks fills each lane's first two blocks (§3.2 steps 4 and 5).
func firstBlocks(blocks []block, h0 *[blake2b.Size + 8]byte, lanes, laneLength uint32) {
	var buf [1024]byte
	for lane := range lanes {
		for column := range uint32(2) {
			binary.LittleEndian.PutUint32(h0[blake2b.Size:], column)
			binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)
			variableHash(buf[:], h0[:])
			b := &blocks[lane*laneLength+column]
			for i := range b {
				b[i] = binary.LittleEndian.Uint64(buf[8*i:])
			}
		}
	}
}

// finalHash XORs the lanes' last blocks and hashes them to keyLen bytes
// (§3.2 steps 7 and 8).
func finalHash(blocks []block, lanes, laneLength, keyLen uint32) []byte {
	last := blocks[laneLength-1]
	for lane := uint32(1); lane < lanes; lane++ {
		other := &blocks[lane*laneLength+laneLength-1]
		for i := range last {
			last[i] ^= other[i]
		}
	}
	var in [1024]byte
	for i, w := range last {
		binary.LittleEndian.PutUint64(in[8*i:], w)
	}
	out := make([]byte, keyLen)
	variableHash(out, in[:])
	return out
}

// variableHash is H' (§3.3): len(out) bytes of BLAKE2b over
// LE32(len(out)) || in, chained 64 bytes at a time past 64 bytes.
func variableHash(out, in []byte) {
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], uint32(len(out)))
	if len(out) <= blake2b.Size {
		h := newBlake2b(len(out))
		h.Write(le[:])
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	// r = ceil(T/32) - 2 whole 64-byte hashes, of which the first 32 bytes
	// are kept, then one of the remaining T - 32r bytes.
	r := (len(out)+31)/32 - 2
	h := newBlake2b(blake2b.Size)
	h.Write(le[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	copy(out, v[:32])
	for i := 1; i < r; i++ {
		h.Reset()
		h.Write(v[:])
		h.Sum(v[:0])
		copy(out[32*i:], v[:32])
	}
	last := newBlake2b(len(out) - 32*r)
	last.Write(v[:])
	last.Sum(out[32*r : 32*r])
}

// newBlake2b returns an unkeyed BLAKE2b hash of size bytes (1 to 64).
func newBlake2b(size int) hash.Hash {
	h, err := blake2b.New(size, nil)
	if err != nil {
		panic("argon2: " + err.Error()) // size is always 1 to 64 here
	}
	return h
}

// filler computes the memory matrix's blocks segment by segment (§3.2
// step 6, §3.4).
type filler struct {
	blocks                               []block
	lanes, laneLength, segmentLength     uint32
	time                                 uint32
	mode                                 int
	addresses, addressInput, zero, spare block
	scratch
}

// segment computes one segment: the blocks of lane in slice of pass.
func (f *filler) segment(pass, slice, lane uint32) {
	// Argon2i addresses its references from a counter (§3.4.1.2);
	// Argon2id does so in the first half of the first pass and like
	// Argon2d (from the previous block) after it.
	independent := f.mode == typeI || (pass == 0 && slice < syncPoints/2)
	if independent {
		f.addressInput = block{}
		f.addressInput[0] = uint64(pass)
		f.addressInput[1] = uint64(lane)
		f.addressInput[2] = uint64(slice)
		f.addressInput[3] = uint64(len(f.blocks))
		f.addressInput[4] = uint64(f.time)
		f.addressInput[5] = uint64(f.mode)
	}
	start := uint32(0)
	if pass == 0 && slice == 0 {
		start = 2 // the first two blocks come from H_0
		if independent {
			f.nextAddresses()
		}
	}
	laneStart := lane * f.laneLength
	for index := start; index < f.segmentLength; index++ {
		column := slice*f.segmentLength + index
		prev := laneStart + column - 1
		if column == 0 {
			prev = laneStart + f.laneLength - 1
		}
		var pseudoRandom uint64
		if independent {
			if index%addressesEach == 0 {
				f.nextAddresses()
			}
			pseudoRandom = f.addresses[index%addressesEach]
		} else {
			pseudoRandom = f.blocks[prev][0]
		}
		ref := f.reference(pseudoRandom, pass, slice, lane, index)
		out := &f.blocks[laneStart+column]
		// §3.2 step 6: from the second pass on (version 0x13), the new block
		// is XORed into the old one; in the first pass it replaces
		// whatever the area held.
		f.compress(out, &f.blocks[prev], &f.blocks[ref], pass > 0)
	}
}

// nextAddresses computes the next block of 128 pseudo-random values:
// G(ZERO, G(ZERO, input)) with the input's counter incremented (§3.4.1.2).
func (f *filler) nextAddresses() {
	f.addressInput[6]++
	f.compress(&f.spare, &f.zero, &f.addressInput, false)
	f.compress(&f.addresses, &f.zero, &f.spare, false)
}

// reference maps a pseudo-random value to the index in f.blocks of the
// block the next one is computed from (§3.4.1.1 and §3.4.2).
func (f *filler) reference(pseudoRandom uint64, pass, slice, lane, index uint32) uint32 {
	j1, j2 := uint32(pseudoRandom), uint32(pseudoRandom>>32)
	refLane := j2 % f.lanes
	if pass == 0 && slice == 0 {
		refLane = lane // no other lane has a finished segment yet
	}
	// The reference set: the finished slices (the last SL-1 after the
	// first pass) and, in the block's own lane, its segment's blocks so
	// far; never the previous block, nor, at a segment's first block,
	// another lane's block that was computed last.
	var area uint32
	if pass == 0 {
		area = slice * f.segmentLength
	} else {
		area = f.laneLength - f.segmentLength
	}
	if refLane == lane {
		area += index - 1
	} else if index == 0 {
		area--
	}
	x := uint64(j1) * uint64(j1) >> 32
	y := uint64(area) * x >> 32
	relative := uint64(area) - 1 - y
	var startPosition uint64
	if pass != 0 && slice != syncPoints-1 {
		startPosition = uint64((slice + 1) * f.segmentLength)
	}
	return refLane*f.laneLength + uint32((startPosition+relative)%uint64(f.laneLength))
}
