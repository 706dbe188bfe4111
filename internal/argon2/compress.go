package argon2

//go:generate go run gen_permute.go

// scratch is the compression function's working space, kept with the
// filler so that a compression does not clear 2 KiB of stack first.
type scratch struct {
	r, q block
}

// compress is the compression function G (RFC 9106 §3.5) of x and y into
// out; with xor set, G's result is XORed into out's old value instead of
// replacing it. out may be x or y.
//
// R = X ⊕ Y; Q = P on R's rows, then on its columns; G = Q ⊕ R. The row
// pass reads X and Y and keeps R; the column pass writes G into out. Row
// i is the 16 words 16i … 16i+15; column i the words 2i and 2i+1 of every
// row.
func (s *scratch) compress(out, x, y *block, xor bool) {
	r, q := &s.r, &s.q
	for i := 0; i < blockWords; i += 16 {
		permuteRow((*[16]uint64)(q[i:i+16]), (*[16]uint64)(r[i:i+16]), (*[16]uint64)(x[i:i+16]), (*[16]uint64)(y[i:i+16]))
	}
	for i := 0; i < 16; i += 2 {
		permuteColumn((*[114]uint64)(out[i:i+114]), (*[114]uint64)(q[i:i+114]), (*[114]uint64)(r[i:i+114]), xor)
	}
}
