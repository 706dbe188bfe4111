package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// eventJSON is one event of the audit log.
type eventJSON struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Time      time.Time       `json:"time"`
	Subject   string          `json:"subject"`
	Actor     storage.Actor   `json:"actor"`
	RequestID string          `json:"request_id,omitempty"`
	Data      json.RawMessage `json:"data"`
}

func toEventJSON(e storage.Event) eventJSON {
	data := e.Data
	if !json.Valid(data) {
		data = json.RawMessage("{}")
	}
	return eventJSON{ID: e.ID, Type: e.Type, Time: e.Time, Subject: e.Subject, Actor: e.Actor, RequestID: e.RequestID, Data: data}
}

// listEvents is the audit log: events in the order they were recorded,
// filtered by ?subject=, ?type= and the time range ?from= (included) and
// ?to= (excluded), RFC 3339.
func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := parsePage(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	filter := storage.EventFilter{Subject: q.Get("subject"), Type: q.Get("type")}
	if filter.Type != "" && !slices.Contains(events.Types(), filter.Type) {
		writeFieldProblem(w, http.StatusBadRequest, "type", "type must be an event type, such as user.created (docs/events.md).")
		return
	}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &filter.From}, {"to", &filter.To}} {
		if s := q.Get(b.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				writeFieldProblem(w, http.StatusBadRequest, b.name, b.name+" must be an RFC 3339 time, such as 2025-01-31T12:00:00Z.")
				return
			}
			*b.dst = t
		}
	}
	es, err := a.store.ListEvents(r.Context(), filter, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(es, limit, func(e storage.Event) string { return e.ID }, toEventJSON))
}
