package events_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/events"
)

func TestScrubRemovesPersonalData(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"email":"ada@example.com","email_verified":true}`, `{"email_verified":true}`},
		{`{"fields":["email","name"],"email":"new@example.com"}`, `{"fields":["email","name"]}`},
		{`{"method":"pwd","ip":"192.0.2.1","client_id":"rp","nested":{"name":"Ada"}}`, `{"client_id":"rp","method":"pwd","nested":{}}`},
		{`{}`, `{}`},
		{`"ada@example.com"`, `{}`},
		{`not json`, `{}`},
	}
	for _, tt := range tests {
		got, err := events.Scrub(json.RawMessage(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("Scrub(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}
