package events

import (
	"encoding/json"
	"fmt"
)

// PersonalKeys returns the members of event data that may hold a
// customer's personal data: addresses (email, IP), names, phone, picture,
// device. Scrub removes them.
func PersonalKeys() []string {
	return []string{"email", "ip", "name", "given_name", "family_name", "phone_number", "picture", "address", "device", "user_agent"}
}

// Scrub returns event data without the members PersonalKeys names, at any
// depth, for the events of a deleted customer: what stays says what
// happened (the type, the fields that changed, the app, the method) but
// not to whom beyond the opaque subject ID. Data that is not a JSON
// object is replaced by "{}".
func Scrub(data json.RawMessage) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return json.RawMessage("{}"), nil
	}
	if _, ok := v.(map[string]any); !ok {
		return json.RawMessage("{}"), nil
	}
	out, err := json.Marshal(scrubValue(v))
	if err != nil {
		return nil, fmt.Errorf("scrub event data: %w", err)
	}
	return out, nil
}

func scrubValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range PersonalKeys() {
			delete(t, k)
		}
		for k, x := range t {
			t[k] = scrubValue(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = scrubValue(x)
		}
		return t
	default:
		return v
	}
}
