package redact

import "testing"

func TestEmail(t *testing.T) {
	for in, want := range map[string]string{
		"jane.doe@example.com": "j***@example.com",
		"élodie@exemple.fr":    "é***@exemple.fr",
		"@example.com":         "***@example.com",
		"no-at-sign":           "n***",
		"":                     "",
	} {
		if got := Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}
