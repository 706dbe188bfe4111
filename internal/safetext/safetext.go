// Package safetext checks text that Gatehouse stores and shows again: no
// NUL or other control characters (PostgreSQL cannot store NUL, and
// control characters forge log lines and confuse pages), valid UTF-8, and
// a bounded length.
package safetext

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Check reports what is wrong with s, or nil: invalid UTF-8, a control
// character (line breaks and tabs only where multiline allows them, as in
// an address's formatted member, OpenID Connect Core §5.1.1), or more
// than maxRunes characters.
func Check(s string, maxRunes int, multiline bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	n := 0
	for _, r := range s {
		n++
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("contains a control character (U+%04X)", r)
		}
	}
	if n > maxRunes {
		return fmt.Errorf("is longer than %d characters", maxRunes)
	}
	return nil
}
