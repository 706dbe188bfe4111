package ui

import "testing"

func TestFreshnessAsked(t *testing.T) {
	tests := []struct {
		form   string
		reauth bool
		maxAge string
	}{
		{"prompt=login&max_age=0", true, "0"},
		{"prompt=consent+login", true, ""},
		{"prompt=consent&max_age=3600", false, "3600"},
		{"max_age=-1", false, ""},
		{"max_age=soon", false, ""},
		{"max_age=99999999999", false, ""},
		{"", false, ""},
		{"%zz", false, ""},
	}
	for _, tt := range tests {
		reauth, maxAge := freshnessAsked(tt.form)
		if reauth != tt.reauth || maxAge != tt.maxAge {
			t.Errorf("freshnessAsked(%q) = %v, %q; want %v, %q", tt.form, reauth, maxAge, tt.reauth, tt.maxAge)
		}
	}
}
