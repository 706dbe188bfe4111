package identity

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// The password rules follow NIST SP 800-63B §5.1.1.2: a minimum length, a
// maximum of at least 64 characters, no composition rules (no "one digit,
// one capital"), and a refusal of passwords that are common, breached or
// derived from the customer's own details.

// MinPasswordLength is the floor of the configurable minimum length, and the
// minimum a zero PasswordPolicy applies: NIST's eight characters.
const MinPasswordLength = 8

// MaxPasswordLength is the most characters a new password may have. NIST
// asks that at least 64 be allowed; 256 leaves room for any passphrase while
// a huge password is refused before it is hashed. 256 characters are at
// most 1,024 bytes of UTF-8, the bound Authenticate puts on what it hashes.
const MaxPasswordLength = 256

// MinPasswordScore is the zxcvbn score (0–4) a new password must reach. A
// score of 2 means zxcvbn estimates at least 10^6 guesses: out of reach of
// online guessing, which the server throttles, though not of an offline
// attack on a stolen hash (argon2id is the defence there). 3 would also
// refuse many passphrases people can remember; 1 would let through
// "iloveyou2024" and "P@ssw0rd!".
const MinPasswordScore = 2

// scoredBytes is how much of a password zxcvbn scores. Its cost grows
// quickly with the length in bytes (about 1 ms at 32 bytes, 5–10 ms at 64,
// hundreds of ms at 256 on the project's machine), so only the first 32
// bytes, cut at a character boundary, are scored: a password whose first 32
// bytes are guessable (a repetition, a keyboard walk, a list of common
// words) is refused even if it goes on, and a long password costs no more
// to check than a 32-byte one.
const scoredBytes = 32

// maxUserInputs and maxUserInputBytes bound the customer's own details
// given to zxcvbn as extra dictionary words, so a long name cannot make the
// check expensive either.
const (
	maxUserInputs     = 8
	maxUserInputBytes = 64
)

// minLocalPart is the shortest email local part the contains_email rule
// looks for. A one- or two-letter local part ("jo@", "al@") occurs in too
// many unrelated passwords ("major", "always") for the rule to mean
// anything; zxcvbn still gets it as a user input.
const minLocalPart = 3

// PasswordRule names the rule a refused password broke. The names are part
// of the admin API's answers and of the message ids the pages show.
type PasswordRule string

// The password rules.
const (
	// RuleTooShort: fewer characters than the policy's minimum.
	RuleTooShort PasswordRule = "too_short"
	// RuleTooLong: more than MaxPasswordLength characters.
	RuleTooLong PasswordRule = "too_long"
	// RuleTooCommon: common, breached or otherwise easy to guess (a zxcvbn
	// score below MinPasswordScore).
	RuleTooCommon PasswordRule = "too_common"
	// RuleContainsEmail: contains the local part of the customer's email,
	// in any case.
	RuleContainsEmail PasswordRule = "contains_email"
)

// PasswordRules lists every rule, in the order they are checked.
func PasswordRules() []PasswordRule {
	return []PasswordRule{RuleTooShort, RuleTooLong, RuleContainsEmail, RuleTooCommon}
}

// PasswordError says which rule a new password broke. Its message is plain
// English for logs and the command line; pages show the localized message
// MessageID names, with MessageData.
type PasswordError struct {
	Rule PasswordRule
	// Limit is the length bound for RuleTooShort and RuleTooLong, else 0.
	Limit int
}

func (e *PasswordError) Error() string {
	switch e.Rule {
	case RuleTooShort:
		return fmt.Sprintf("must be at least %d characters", e.Limit)
	case RuleTooLong:
		return fmt.Sprintf("must be at most %d characters", e.Limit)
	case RuleContainsEmail:
		return "must not contain the email address or its part before the @"
	case RuleTooCommon:
		return "is too common or too easy to guess; choose a longer or less predictable one"
	}
	return "is not allowed (" + string(e.Rule) + ")"
}

// MessageID is the id of the rule's message in templates/locales:
// "password.error." followed by the rule.
func (e *PasswordError) MessageID() string { return "password.error." + string(e.Rule) }

// MessageData is the data the rule's message uses: Min for too_short, Max
// for too_long.
func (e *PasswordError) MessageData() map[string]any {
	switch e.Rule {
	case RuleTooShort:
		return map[string]any{"Min": e.Limit}
	case RuleTooLong:
		return map[string]any{"Max": e.Limit}
	}
	return nil
}

// PasswordPolicy decides whether a new password may be set. The zero value
// applies MinPasswordLength. It does NOT check passwords at sign-in: a
// password set before the policy tightened still signs in.
type PasswordPolicy struct {
	// MinLength is the fewest characters (Unicode code points, not bytes) a
	// password may have; below MinPasswordLength counts as MinPasswordLength.
	MinLength int
}

// minLength is the minimum the policy applies.
func (p PasswordPolicy) minLength() int { return max(p.MinLength, MinPasswordLength) }

// Check returns nil if password may be set for the customer with email and
// name, or a *PasswordError naming the first rule it breaks, in the order of
// PasswordRules. email is expected normalized (NormalizeEmail); name may be
// empty. The cost of a check is bounded whatever the lengths (see
// BenchmarkPasswordPolicy).
func (p PasswordPolicy) Check(password, email, name string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.minLength():
		return &PasswordError{Rule: RuleTooShort, Limit: p.minLength()}
	case n > MaxPasswordLength:
		return &PasswordError{Rule: RuleTooLong, Limit: MaxPasswordLength}
	}
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	lower := strings.ToLower(password)
	for _, part := range localParts(local) {
		if utf8.RuneCountInString(part) >= minLocalPart && strings.Contains(lower, part) {
			return &PasswordError{Rule: RuleContainsEmail}
		}
	}
	scored := strings.ToValidUTF8(prefix(password, scoredBytes), "\uFFFD")
	if zxcvbn.PasswordStrength(scored, userInputs(email, local, name)).Score < MinPasswordScore {
		return &PasswordError{Rule: RuleTooCommon}
	}
	return nil
}

// localParts returns the local part, and with plus addressing
// ("alice+shop") also the part before the plus.
func localParts(local string) []string {
	if base, _, ok := strings.Cut(local, "+"); ok && base != "" {
		return []string{local, base}
	}
	return []string{local}
}

// userInputs are the customer's own details as zxcvbn's extra dictionary:
// the email, its local part, the name and each word of it, each cut short.
func userInputs(email, local, name string) []string {
	inputs := []string{email, local}
	if name = strings.TrimSpace(name); name != "" {
		inputs = append(inputs, name)
		inputs = append(inputs, strings.Fields(name)...)
	}
	if len(inputs) > maxUserInputs {
		inputs = inputs[:maxUserInputs]
	}
	for i, in := range inputs {
		inputs[i] = strings.ToValidUTF8(prefix(in, maxUserInputBytes), "")
	}
	return inputs
}

// prefix returns at most n bytes of s, cut at a character boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
