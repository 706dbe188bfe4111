package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/webhooks"
	"github.com/gatehouse-id/gatehouse/storage"
)

const webhooksUsage = `Usage:
  gatehouse webhooks create --url URL [--event TYPE]... [--disabled] [--output json|text]
  gatehouse webhooks list   [--output json|text]
  gatehouse webhooks get    WEBHOOK_ID [--output json|text]
  gatehouse webhooks update WEBHOOK_ID [--url URL] [--event TYPE]... [--all-events] [--enabled true|false] [--output json|text]
  gatehouse webhooks delete WEBHOOK_ID
  gatehouse webhooks deliveries WEBHOOK_ID [--limit N] [--output json|text]
  gatehouse webhooks replay WEBHOOK_ID (--event-id EVENT_ID | --from TIME [--to TIME])
  gatehouse webhooks ping   WEBHOOK_ID
  gatehouse webhooks rotate-secret WEBHOOK_ID [--overlap 24h] [--output json|text]

Event types: see docs/webhooks.md; without --event a subscription gets every type.
Times are RFC 3339 (2026-05-01T12:00:00Z).
`

func (a *app) webhooks(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("webhooks needs a subcommand\n\n%s", webhooksUsage)
	}
	switch args[0] {
	case "create":
		return a.webhooksCreate(ctx, args[1:])
	case "list":
		return a.webhooksList(ctx, args[1:])
	case "get":
		return a.webhooksGet(ctx, args[1:])
	case "update":
		return a.webhooksUpdate(ctx, args[1:])
	case "delete":
		return a.webhooksDelete(ctx, args[1:])
	case "deliveries":
		return a.webhooksDeliveries(ctx, args[1:])
	case "replay":
		return a.webhooksReplay(ctx, args[1:])
	case "ping":
		return a.webhooksPing(ctx, args[1:])
	case "rotate-secret":
		return a.webhooksRotateSecret(ctx, args[1:])
	default:
		return usagef("unknown webhooks subcommand %q\n\n%s", args[0], webhooksUsage)
	}
}

// webhookJSON is a subscription as the command line prints it: the admin
// API's shape. Secret is set only by create and rotate-secret.
type webhookJSON struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"event_types"`
	Enabled    bool      `json:"enabled"`
	Sequence   int64     `json:"sequence"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Secret     string    `json:"secret,omitempty"`
}

func toWebhookJSON(w storage.Webhook, secret string) webhookJSON {
	return webhookJSON{
		ID: w.ID, URL: w.URL, EventTypes: orEmpty(w.EventTypes), Enabled: w.Enabled, Sequence: w.Sequence,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Secret: secret,
	}
}

// webhookService opens the store and returns the webhook service as the
// server builds it.
func (a *app) webhookService(ctx context.Context, cfgPath string) (*webhooks.Service, func(), error) {
	cfg, log, store, secrets, err := a.openCommandStore(ctx, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	svc, err := a.services(cfg, store, secrets, log)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	return svc.Webhooks, func() { _ = store.Close() }, nil
}

// webhookTarget finishes parsing a subcommand that names one subscription
// (the WEBHOOK_ID, then --output when output is not nil, then check, the
// command's own rules, when not nil) and opens the webhook service; done
// closes the store.
func (a *app) webhookTarget(ctx context.Context, fs *flag.FlagSet, cfgPath, output *string, args []string, check func() error) (id string, svc *webhooks.Service, done func(), err error) {
	if id, err = parseOneID(fs, args, "WEBHOOK_ID"); err != nil {
		return "", nil, nil, err
	}
	if output != nil {
		if err := checkOutput(*output); err != nil {
			return "", nil, nil, err
		}
	}
	if check != nil {
		if err := check(); err != nil {
			return "", nil, nil, err
		}
	}
	svc, done, err = a.webhookService(ctx, *cfgPath)
	return id, svc, done, err
}

// noWebhook turns a missing subscription into a message naming it.
func noWebhook(id string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no webhook %q", id)
	}
	var ie *webhooks.InvalidError
	if errors.As(err, &ie) {
		return fmt.Errorf("invalid %s", ie.Error())
	}
	return err
}

func (a *app) printWebhook(j webhookJSON, output string) error {
	if output == "json" {
		return writeJSON(a.stdout, j)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	types := strings.Join(j.EventTypes, " ")
	if types == "" {
		types = "(all)"
	}
	rows := [][2]string{
		{"id", j.ID}, {"url", j.URL}, {"event_types", types}, {"enabled", fmt.Sprint(j.Enabled)},
		{"sequence", fmt.Sprint(j.Sequence)}, {"created_at", j.CreatedAt.Format(time.RFC3339)},
	}
	if j.Secret != "" {
		rows = append(rows, [2]string{"secret", j.Secret})
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if j.Secret != "" {
		fmt.Fprintln(a.stdout, "The secret is shown only now; keep it where the receiver can read it.")
	}
	return nil
}

func (a *app) webhooksCreate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks create")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	url := fs.String("url", "", "the receiver's `URL` (https)")
	var types stringList
	fs.Var(&types, "event", "event `TYPE` to send (repeatable; default every type)")
	disabled := fs.Bool("disabled", false, "create the subscription switched off")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	if *url == "" {
		return usagef("webhooks create needs --url")
	}
	svc, done, err := a.webhookService(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer done()
	c, err := svc.Create(ctx, webhooks.Spec{URL: *url, EventTypes: types, Disabled: *disabled})
	if err != nil {
		return noWebhook("", err)
	}
	return a.printWebhook(toWebhookJSON(c.Webhook, c.Secret), *output)
}

func (a *app) webhooksList(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks list")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	svc, done, err := a.webhookService(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer done()
	out := []webhookJSON{}
	page := storage.Page{Limit: 1000}
	for {
		ws, err := svc.List(ctx, page)
		if err != nil {
			return err
		}
		for _, w := range ws {
			out = append(out, toWebhookJSON(w, ""))
		}
		if len(ws) < page.Limit {
			break
		}
		page.After = ws[len(ws)-1].ID
	}
	if *output == "json" {
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENABLED\tEVENTS\tURL")
	for _, w := range out {
		types := strings.Join(w.EventTypes, ",")
		if types == "" {
			types = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", w.ID, w.Enabled, types, w.URL)
	}
	return tw.Flush()
}

func (a *app) webhooksGet(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks get")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	id, svc, done, err := a.webhookTarget(ctx, fs, cfgPath, output, args, nil)
	if err != nil {
		return err
	}
	defer done()
	w, err := svc.Get(ctx, id)
	if err != nil {
		return noWebhook(id, err)
	}
	return a.printWebhook(toWebhookJSON(w, ""), *output)
}

// optionalBool is a flag that is unset until given true or false.
type optionalBool struct{ v *bool }

func (o *optionalBool) String() string {
	if o.v == nil {
		return ""
	}
	return fmt.Sprint(*o.v)
}

func (o *optionalBool) Set(s string) error {
	switch s {
	case "true":
		t := true
		o.v = &t
	case "false":
		f := false
		o.v = &f
	default:
		return errors.New("must be true or false")
	}
	return nil
}

func (a *app) webhooksUpdate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks update")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	url := fs.String("url", "", "a new receiver `URL`")
	var types stringList
	fs.Var(&types, "event", "event `TYPE` to send (repeatable; replaces the filter)")
	all := fs.Bool("all-events", false, "send every event type (clears the filter)")
	var enabled optionalBool
	fs.Var(&enabled, "enabled", "`true` or false; disabling drops the pending deliveries")
	id, err := parseOneID(fs, args, "WEBHOOK_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	var p webhooks.Patch
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "url":
			p.URL = url
		case "enabled":
			p.Enabled = enabled.v
		}
	})
	switch {
	case *all && len(types) > 0:
		return usagef("webhooks update takes --event or --all-events, not both")
	case *all:
		p.EventTypes = &[]string{}
	case len(types) > 0:
		t := []string(types)
		p.EventTypes = &t
	}
	svc, done, err := a.webhookService(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer done()
	w, err := svc.Update(ctx, id, p)
	if err != nil {
		return noWebhook(id, err)
	}
	return a.printWebhook(toWebhookJSON(w, ""), *output)
}

func (a *app) webhooksDelete(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks delete")
	cfgPath := configFlag(fs)
	id, svc, done, err := a.webhookTarget(ctx, fs, cfgPath, nil, args, nil)
	if err != nil {
		return err
	}
	defer done()
	if err := svc.Delete(ctx, id); err != nil {
		return noWebhook(id, err)
	}
	fmt.Fprintf(a.stdout, "deleted webhook %s and its deliveries\n", id)
	return nil
}

// deliveryJSON is a delivery as the command line prints it.
type deliveryJSON struct {
	ID        string        `json:"id"`
	EventID   string        `json:"event_id"`
	EventType string        `json:"event_type"`
	Sequence  int64         `json:"sequence"`
	State     string        `json:"state"`
	Replay    bool          `json:"replay"`
	CreatedAt time.Time     `json:"created_at"`
	Attempts  []attemptJSON `json:"attempts"`
}

type attemptJSON struct {
	Time       time.Time `json:"time"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

func (a *app) webhooksDeliveries(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks deliveries")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	limit := fs.Int("limit", 100, "at most `N` deliveries, oldest first")
	after := fs.String("after", "", "list the deliveries after the delivery `ID` (the last one listed)")
	id, svc, done, err := a.webhookTarget(ctx, fs, cfgPath, output, args, func() error {
		if *limit < 1 || *limit > 1000 {
			return usagef("--limit must be from 1 to 1000")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer done()
	ds, err := svc.Deliveries(ctx, id, storage.Page{After: *after, Limit: *limit})
	if err != nil {
		return noWebhook(id, err)
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		j := deliveryJSON{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Sequence: d.Sequence, State: d.State,
			Replay: d.Replay, CreatedAt: d.CreatedAt, Attempts: []attemptJSON{}}
		for _, at := range d.Attempts {
			j.Attempts = append(j.Attempts, attemptJSON{Time: at.Time, StatusCode: at.StatusCode, Error: at.Error, DurationMS: at.Duration.Milliseconds()})
		}
		out = append(out, j)
	}
	if *output == "json" {
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEQ\tEVENT\tEVENT_ID\tSTATE\tATTEMPTS\tLAST")
	for _, d := range out {
		last := "-"
		if n := len(d.Attempts); n > 0 {
			at := d.Attempts[n-1]
			last = at.Time.Format(time.RFC3339)
			if at.StatusCode != 0 {
				last += fmt.Sprintf(" %d", at.StatusCode)
			}
			if at.Error != "" {
				last += " " + at.Error
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.Sequence, d.EventType, d.EventID, d.State, len(d.Attempts), last)
	}
	return tw.Flush()
}

func (a *app) webhooksReplay(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks replay")
	cfgPath := configFlag(fs)
	eventID := fs.String("event-id", "", "send the recorded event with the `ID` again")
	from := fs.String("from", "", "send the events recorded from `TIME` (RFC 3339) again")
	to := fs.String("to", "", "... until `TIME` (excluded; default now)")
	id, err := parseOneID(fs, args, "WEBHOOK_ID")
	if err != nil {
		return err
	}
	r := webhooks.Replay{EventID: *eventID}
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"--from", *from, &r.From}, {"--to", *to, &r.To}} {
		if f.v == "" {
			continue
		}
		if *f.dst, err = time.Parse(time.RFC3339, f.v); err != nil {
			return usagef("%s must be an RFC 3339 time such as 2026-05-01T12:00:00Z (got %q)", f.name, f.v)
		}
	}
	if r.EventID == "" && r.From.IsZero() {
		return usagef("webhooks replay needs --event-id or --from\n\n%s", webhooksUsage)
	}
	svc, done, err := a.webhookService(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer done()
	n, err := svc.Replay(ctx, id, r)
	if err != nil {
		return noWebhook(id, err)
	}
	fmt.Fprintf(a.stdout, "queued %d deliveries to webhook %s; a running server sends them\n", n, id)
	return nil
}

func (a *app) webhooksPing(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks ping")
	cfgPath := configFlag(fs)
	id, svc, done, err := a.webhookTarget(ctx, fs, cfgPath, nil, args, nil)
	if err != nil {
		return err
	}
	defer done()
	eventID, err := svc.Ping(ctx, id)
	if err != nil {
		return noWebhook(id, err)
	}
	fmt.Fprintf(a.stdout, "queued ping %s to webhook %s; a running server sends it\n", eventID, id)
	return nil
}

func (a *app) webhooksRotateSecret(ctx context.Context, args []string) error {
	fs := a.newFlagSet("webhooks rotate-secret")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	overlap := fs.Duration("overlap", webhooks.DefaultOverlap, "how long the old secret keeps signing too (0 to 168h)")
	id, svc, done, err := a.webhookTarget(ctx, fs, cfgPath, output, args, nil)
	if err != nil {
		return err
	}
	defer done()
	w, secret, err := svc.RotateSecret(ctx, id, *overlap)
	if err != nil {
		return noWebhook(id, err)
	}
	return a.printWebhook(toWebhookJSON(w, secret), *output)
}
