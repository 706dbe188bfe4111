package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// DeliveryStore is what a Deliverer needs of the store.
type DeliveryStore interface {
	GetWebhook(ctx context.Context, id string) (storage.Webhook, error)
	RecordWebhookAttempt(ctx context.Context, a storage.WebhookAttempt, succeeded bool) error
}

// Deliverer posts deliveries to subscriptions.
type Deliverer struct {
	Store   DeliveryStore
	Secrets *secret.Keys
	// Outbound sends the requests: https, public addresses, no redirects.
	Outbound *outbound.Client
	// Retry is the back-off; zero members take the defaults
	// (DefaultRetryBase, DefaultRetryMax, DefaultRetryHorizon).
	Retry jobs.Retry
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// The delivery back-off: 5 s, doubling to one hour, for 72 hours
// (GATEHOUSE_WEBHOOK_RETRY_HORIZON sets the horizon).
const (
	DefaultRetryBase    = 5 * time.Second
	DefaultRetryMax     = time.Hour
	DefaultRetryHorizon = 72 * time.Hour
)

// Kind is the job kind that delivers webhooks.
func (d *Deliverer) Kind() jobs.Kind {
	r := d.Retry
	if r.Base <= 0 {
		r.Base = DefaultRetryBase
	}
	if r.Max <= 0 {
		r.Max = DefaultRetryMax
	}
	if r.Horizon <= 0 {
		r.Horizon = DefaultRetryHorizon
	}
	return jobs.Kind{Name: JobKind, Handle: d.deliver, Retry: r}
}

// deliver POSTs a delivery's body, signed, to the subscription's current
// URL, and records the attempt. A subscription gone or disabled drops the
// delivery; a 2xx answer completes it; anything else is retried, and an
// address the outbound policy refuses kills it.
func (d *Deliverer) deliver(ctx context.Context, job storage.Job) error {
	var p payload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("stored delivery: %w", err))
	}
	w, err := d.Store.GetWebhook(ctx, p.WebhookID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && !w.Enabled {
		return nil
	}
	if err != nil {
		return err
	}
	now := time.Now()
	keys, err := signingKeys(d.Secrets, w, now)
	if err != nil {
		return jobs.Permanent(err)
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.URL, bytes.NewReader(p.Body))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("webhook %s: %w", w.ID, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Webhooks/1")
	req.Header.Set(HeaderID, p.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, SignatureHeader(keys, p.EventID, now, p.Body))

	attempt := storage.WebhookAttempt{DeliveryID: job.ID, WebhookID: w.ID, EventID: p.EventID, Time: now}
	resp, sendErr := d.Outbound.Do(req)
	var result error
	if sendErr != nil {
		// The URL may carry a token in its query: keep only the cause.
		var ue *url.Error
		if errors.As(sendErr, &ue) {
			sendErr = ue.Err
		}
		attempt.Error = sendErr.Error()
		result = fmt.Errorf("webhook %s: %w", w.ID, sendErr)
		if errors.Is(sendErr, outbound.ErrRefused) {
			result = jobs.Permanent(result)
		}
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		attempt.StatusCode = resp.StatusCode
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			attempt.Error = "answered " + strconv.Itoa(resp.StatusCode)
			result = fmt.Errorf("webhook %s: the receiver answered %d", w.ID, resp.StatusCode)
		}
	}
	attempt.Duration = time.Since(now)
	if err := d.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), attempt, result == nil); err != nil && d.Logger != nil {
		d.Logger.WarnContext(ctx, "recording a webhook attempt", "webhook_id", w.ID, "error", err.Error())
	}
	return result
}
