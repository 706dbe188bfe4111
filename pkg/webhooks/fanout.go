package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Envelope is the body of a delivery (docs/webhooks.md): the Standard
// Webhooks shape, with the event's own data and Gatehouse's members in
// data.
type Envelope struct {
	// ID is the event's ID, also sent as webhook-id: the idempotency key.
	ID string `json:"id"`
	// Type is the event type, e.g. "user.created".
	Type string `json:"type"`
	// Timestamp is when the change was made (RFC 3339).
	Timestamp time.Time `json:"timestamp"`
	// Data is the event's data object, plus subject, actor, request_id
	// and sequence (these names win over a data member of the same name).
	Data map[string]any `json:"data"`
}

// envelope returns the body delivering e as the sequence-th delivery of a
// subscription.
func envelope(e storage.Event, sequence int64) ([]byte, error) {
	data := map[string]any{}
	if len(e.Data) > 0 {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &fields); err != nil {
			return nil, fmt.Errorf("event %s: data is not a JSON object: %w", e.ID, err)
		}
		for k, v := range fields {
			data[k] = v
		}
	}
	data["subject"] = e.Subject
	data["actor"] = e.Actor
	data["request_id"] = e.RequestID
	data["sequence"] = sequence
	return json.Marshal(Envelope{ID: e.ID, Type: e.Type, Timestamp: e.Time.UTC(), Data: data})
}

// payload is a delivery job's payload: the body is made when the event
// is recorded, so every attempt sends the same bytes.
type payload struct {
	WebhookID string          `json:"webhook_id"`
	EventID   string          `json:"event_id"`
	Body      json.RawMessage `json:"body"`
}

// deliveries makes the jobs and delivery rows that send events, in order,
// to the subscription: it takes the subscription's next sequence numbers
// (in the transaction in ctx) before making the jobs' IDs, so that the
// queue's order is the numbers' order.
func (s *Service) deliveries(ctx context.Context, w storage.Webhook, evs []storage.Event, replay bool) ([]storage.Job, []storage.WebhookDelivery, error) {
	last, err := s.store.NextWebhookSequence(ctx, w.ID, len(evs))
	if err != nil {
		return nil, nil, err
	}
	first := last - int64(len(evs)) + 1
	jobsOut := make([]storage.Job, 0, len(evs))
	rows := make([]storage.WebhookDelivery, 0, len(evs))
	for i, e := range evs {
		body, err := envelope(e, first+int64(i))
		if err != nil {
			return nil, nil, err
		}
		p, err := json.Marshal(payload{WebhookID: w.ID, EventID: e.ID, Body: body})
		if err != nil {
			return nil, nil, err
		}
		job := jobs.NewJob(JobKind, w.ID, p)
		jobsOut = append(jobsOut, job)
		rows = append(rows, storage.WebhookDelivery{
			ID: job.ID, WebhookID: w.ID, EventID: e.ID, EventType: e.Type, Sequence: first + int64(i), Replay: replay,
		})
	}
	return jobsOut, rows, nil
}

// Fanout is the events.Fanout of webhooks: in the transaction recording
// events, one delivery job per event and enabled subscription that takes
// its type. One query reads the subscriptions whatever the number of
// events; each matching subscription's sequence is then advanced once.
// After the commit it wakes the runner.
func (s *Service) Fanout(ctx context.Context, evs []storage.Event) ([]storage.Job, error) {
	subs, err := s.store.EnabledWebhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhook fan-out: %w", err)
	}
	var out []storage.Job
	var rows []storage.WebhookDelivery
	// Subscriptions come in ID order, so two transactions lock their rows
	// in the same order and cannot deadlock.
	for _, w := range subs {
		var matched []storage.Event
		for _, e := range evs {
			if w.Matches(e.Type) {
				matched = append(matched, e)
			}
		}
		if len(matched) == 0 {
			continue
		}
		js, ds, err := s.deliveries(ctx, w, matched, false)
		if err != nil {
			return nil, fmt.Errorf("webhook fan-out to %s: %w", w.ID, err)
		}
		out = append(out, js...)
		rows = append(rows, ds...)
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := s.store.AddWebhookDeliveries(ctx, rows...); err != nil {
		return nil, fmt.Errorf("webhook fan-out: %w", err)
	}
	s.store.AfterCommit(ctx, s.notify)
	return out, nil
}

// enqueue sends events to one subscription outside the fan-out (replay,
// ping), in a transaction of its own.
func (s *Service) enqueue(ctx context.Context, id string, pick func(w storage.Webhook) ([]storage.Event, error), replay bool) (int, error) {
	n := 0
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		w, err := s.store.GetWebhook(ctx, id)
		if err != nil {
			return err
		}
		if !w.Enabled {
			return ErrDisabled
		}
		evs, err := pick(w)
		if err != nil || len(evs) == 0 {
			return err
		}
		js, rows, err := s.deliveries(ctx, w, evs, replay)
		if err != nil {
			return err
		}
		if err := s.store.AddWebhookDeliveries(ctx, rows...); err != nil {
			return err
		}
		if err := s.store.EnqueueJobs(ctx, js...); err != nil {
			return err
		}
		n = len(js)
		s.store.AfterCommit(ctx, s.notify)
		return nil
	})
	return n, err
}

// Replay asks for events to be sent again.
type Replay struct {
	// EventID sends that one event, whatever the subscription's filter.
	EventID string
	// From and To (To excluded; zero is now) send the recorded events of
	// the range that the subscription's filter takes.
	From, To time.Time
}

// Replay sends recorded events to the subscription again, as new
// deliveries with new sequence numbers but the events' own IDs (so a
// receiver that has one already drops it), and returns how many it queued.
// A range holds at most MaxReplay events.
func (s *Service) Replay(ctx context.Context, id string, r Replay) (int, error) {
	switch {
	case r.EventID != "" && (!r.From.IsZero() || !r.To.IsZero()):
		return 0, &InvalidError{Field: "event_id", Reason: "give an event_id or a time range, not both"}
	case r.EventID == "" && r.From.IsZero():
		return 0, &InvalidError{Field: "from", Reason: "give an event_id or a time range from..to"}
	case r.EventID == "" && !r.To.IsZero() && !r.To.After(r.From):
		return 0, &InvalidError{Field: "to", Reason: "must be after from"}
	}
	return s.enqueue(ctx, id, func(w storage.Webhook) ([]storage.Event, error) {
		if r.EventID != "" {
			e, err := s.store.EventByID(ctx, r.EventID)
			if errors.Is(err, storage.ErrNotFound) {
				return nil, &InvalidError{Field: "event_id", Reason: "no such event is recorded"}
			}
			return []storage.Event{e}, err
		}
		to := r.To
		if to.IsZero() {
			to = time.Now()
		}
		var out []storage.Event
		page := storage.Page{Limit: 1000}
		for {
			evs, err := s.store.ListEvents(ctx, storage.EventFilter{From: r.From, To: to}, page)
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				if w.Matches(e.Type) {
					out = append(out, e)
				}
			}
			if len(out) > MaxReplay {
				return nil, &InvalidError{Field: "from", Reason: fmt.Sprintf("the range holds more than %d events; replay a shorter one", MaxReplay)}
			}
			if len(evs) < page.Limit {
				return out, nil
			}
			page.After = evs[len(evs)-1].ID
		}
	}, true)
}

// pingData is the data of a webhook.ping event.
type pingData struct {
	WebhookID string `json:"webhook_id"`
}

// Ping sends the subscription a webhook.ping test event (not recorded in
// the audit log) and returns its ID.
func (s *Service) Ping(ctx context.Context, id string) (string, error) {
	raw, _ := json.Marshal(pingData{WebhookID: id})
	e := storage.Event{
		ID: uuid.Must(uuid.NewV7()).String(), Type: PingType, Time: time.Now().UTC(), Subject: id,
		Actor: storage.Actor{Type: storage.ActorSystem}, Data: raw,
	}
	_, err := s.enqueue(ctx, id, func(storage.Webhook) ([]storage.Event, error) { return []storage.Event{e}, nil }, false)
	if err != nil {
		return "", err
	}
	return e.ID, nil
}
