package safetext

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		max       int
		multiline bool
		ok        bool
	}{
		{"plain text", "Zoë O'Brien", 50, false, true},
		{"a NUL", "Mallory\x00", 50, false, false},
		{"an escape sequence", "x\x1b[31m", 50, false, false},
		{"a line break in one line", "a\nb", 50, false, false},
		{"a line break where lines are allowed", "1 Main St\nSpringfield", 50, true, true},
		{"a NUL where lines are allowed", "a\x00b", 50, true, false},
		{"a line separator", "a\u2028b", 50, false, false},
		{"invalid UTF-8", "a\xffb", 50, false, false},
		{"exactly the limit in characters", strings.Repeat("é", 5), 5, false, true},
		{"over the limit", strings.Repeat("a", 6), 5, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.in, tc.max, tc.multiline); (err == nil) != tc.ok {
				t.Fatalf("Check(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}
