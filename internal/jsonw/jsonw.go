// Package jsonw appends JSON values to a byte slice without reflection.
//
// It is for the few hot paths (the token endpoint's answer, the stored form
// of every token) where encoding/json's reflection and allocations show up
// in profiles. Each function writes exactly what encoding/json would accept
// back; anything unusual (a string that needs escaping, a value of another
// type) is handed to encoding/json, so the output is always valid JSON.
package jsonw

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// String appends s as a JSON string. Printable ASCII is written here, with
// quotes and backslashes escaped; a string with anything else goes through
// encoding/json, whose escaping (of <, > and &, control characters, invalid
// UTF-8) this then matches byte for byte.
func String(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return appendMarshaled(dst, s)
		}
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', c)
			start = i + 1
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendMarshaled appends encoding/json's form of s, which escapes what
// String's fast path leaves out. Marshaling a string cannot fail.
func appendMarshaled(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}

// Strings appends a as a JSON array of strings; nil is an empty array.
func Strings(dst []byte, a []string) []byte {
	dst = append(dst, '[')
	for i, s := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = String(dst, s)
	}
	return append(dst, ']')
}

// Time appends t as encoding/json does: an RFC 3339 string with
// nanoseconds. A year outside [0, 9999] has no RFC 3339 form.
func Time(dst []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("jsonw: time %v: year outside of [0,9999]", t)
	}
	// RFC 3339 offsets are below 24 hours; encoding/json refuses others.
	if _, offset := t.Zone(); offset <= -24*60*60 || offset >= 24*60*60 {
		return dst, fmt.Errorf("jsonw: time %v: zone offset outside of (-24h,24h)", t)
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

// Key appends a member name and its colon, after a comma unless the object
// has just begun.
func Key(dst []byte, name string) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' && dst[n-1] != '[' {
		dst = append(dst, ',')
	}
	dst = String(dst, name)
	return append(dst, ':')
}

// Value appends v as encoding/json would: strings, integers, booleans,
// string slices (a nil one is null) and times directly, anything else
// through encoding/json.
func Value(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return String(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case []string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return Strings(dst, v), nil
	case time.Time:
		return Time(dst, v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("jsonw: %w", err)
	}
	return append(dst, b...), nil
}
