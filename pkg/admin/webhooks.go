package admin

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage"
)

// webhookJSON is a subscription; its secret is shown only when created or
// rotated.
type webhookJSON struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Enabled    bool     `json:"enabled"`
	// Sequence is the number of the last delivery made.
	Sequence int64 `json:"sequence"`
	// PreviousSecretExpiresAt is when the secret before the last rotation
	// stops signing, while it still does.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
	// Secret is set only in the answer to a creation.
	Secret string `json:"secret,omitempty"`
}

func toWebhookJSON(w storage.Webhook) webhookJSON {
	out := webhookJSON{
		ID: w.ID, URL: w.URL, EventTypes: orEmpty(w.EventTypes), Enabled: w.Enabled, Sequence: w.Sequence,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
	if len(w.SealedPreviousSecret) > 0 && time.Now().Before(w.PreviousSecretUntil) {
		until := w.PreviousSecretUntil
		out.PreviousSecretExpiresAt = &until
	}
	return out
}

// webhookRequest is the body of a creation, and of an update, where absent
// members are left as they are.
type webhookRequest struct {
	URL        *string   `json:"url"`
	EventTypes *[]string `json:"event_types"`
	Enabled    *bool     `json:"enabled"`
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := parsePage(w, r)
	if !ok {
		return
	}
	ws, err := a.webhooks.List(r.Context(), page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(ws, limit, func(w storage.Webhook) string { return w.ID }, toWebhookJSON))
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if !decodeBody(w, r, &req) {
		return
	}
	spec := webhooks.Spec{}
	if req.URL != nil {
		spec.URL = *req.URL
	}
	if req.EventTypes != nil {
		spec.EventTypes = *req.EventTypes
	}
	if req.Enabled != nil {
		spec.Disabled = !*req.Enabled
	}
	c, err := a.webhooks.Create(r.Context(), spec)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := toWebhookJSON(c.Webhook)
	out.Secret = c.Secret
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := a.webhooks.Get(r.Context(), mux.Vars(r)["webhook_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(wh))
}

func (a *API) updateWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if !decodeBody(w, r, &req) {
		return
	}
	wh, err := a.webhooks.Update(r.Context(), mux.Vars(r)["webhook_id"], webhooks.Patch{URL: req.URL, EventTypes: req.EventTypes, Enabled: req.Enabled})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(wh))
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := a.webhooks.Delete(r.Context(), mux.Vars(r)["webhook_id"]); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// attemptJSON is one try at a delivery.
type attemptJSON struct {
	Time       time.Time `json:"time"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// deliveryJSON is one event sent to one subscription, with its attempts.
type deliveryJSON struct {
	ID            string        `json:"id"`
	EventID       string        `json:"event_id"`
	EventType     string        `json:"event_type"`
	Sequence      int64         `json:"sequence"`
	State         string        `json:"state"`
	Replay        bool          `json:"replay"`
	CreatedAt     time.Time     `json:"created_at"`
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"`
	Attempts      []attemptJSON `json:"attempts"`
}

func toDeliveryJSON(d storage.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, EventID: d.EventID, EventType: d.EventType, Sequence: d.Sequence, State: d.State,
		Replay: d.Replay, CreatedAt: d.CreatedAt, Attempts: make([]attemptJSON, 0, len(d.Attempts)),
	}
	if !d.NextAttemptAt.IsZero() {
		next := d.NextAttemptAt
		out.NextAttemptAt = &next
	}
	for _, at := range d.Attempts {
		out.Attempts = append(out.Attempts, attemptJSON{Time: at.Time, StatusCode: at.StatusCode, Error: at.Error, DurationMS: at.Duration.Milliseconds()})
	}
	return out
}

func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := parsePage(w, r)
	if !ok {
		return
	}
	ds, err := a.webhooks.Deliveries(r.Context(), mux.Vars(r)["webhook_id"], page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(ds, limit, func(d storage.WebhookDelivery) string { return d.ID }, toDeliveryJSON))
}

// replayRequest names one event, or a time range, to send again.
type replayRequest struct {
	EventID string    `json:"event_id"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
}

// queuedJSON says how many deliveries a replay queued.
type queuedJSON struct {
	Queued int `json:"queued"`
}

func (a *API) replayWebhook(w http.ResponseWriter, r *http.Request) {
	var req replayRequest
	if !decodeBody(w, r, &req) {
		return
	}
	n, err := a.webhooks.Replay(r.Context(), mux.Vars(r)["webhook_id"], webhooks.Replay{EventID: req.EventID, From: req.From, To: req.To})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, queuedJSON{Queued: n})
}

// pingJSON is the answer to a ping: the test event's id.
type pingJSON struct {
	EventID string `json:"event_id"`
}

func (a *API) pingWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := a.webhooks.Ping(r.Context(), mux.Vars(r)["webhook_id"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, pingJSON{EventID: id})
}

// secretRotateRequest says how long the old secret keeps signing.
type secretRotateRequest struct {
	OverlapSeconds *int64 `json:"overlap_seconds"`
}

// rotatedJSON is the answer to a rotation: the new secret, shown once.
type rotatedJSON struct {
	ID                      string     `json:"id"`
	Secret                  string     `json:"secret"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	var req secretRotateRequest
	// The body is optional: none keeps the default overlap.
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	overlap := webhooks.DefaultOverlap
	if req.OverlapSeconds != nil {
		overlap = time.Duration(*req.OverlapSeconds) * time.Second
		if *req.OverlapSeconds < 0 || overlap > webhooks.MaxOverlap {
			overlap = -1 // refused by RotateSecret with the field
		}
	}
	wh, secret, err := a.webhooks.RotateSecret(r.Context(), mux.Vars(r)["webhook_id"], overlap)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rotatedJSON{ID: wh.ID, Secret: secret, PreviousSecretExpiresAt: toWebhookJSON(wh).PreviousSecretExpiresAt})
}
