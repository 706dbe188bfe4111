// Package redact shortens what identifies a person before it goes into a
// log line, keeping enough for an operator to see an attack's shape.
package redact

import "strings"

// Email masks an email address: its first character, three stars, and the
// domain ("j***@example.com"). Anything without an @ becomes its first
// character and stars; "" stays "".
func Email(s string) string {
	if s == "" {
		return ""
	}
	local, domain, ok := strings.Cut(strings.TrimSpace(s), "@")
	first := ""
	for _, r := range local {
		first = string(r)
		break
	}
	if !ok {
		return first + "***"
	}
	return first + "***@" + domain
}
