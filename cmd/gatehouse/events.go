package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

const eventsUsage = `Usage:
  gatehouse events export [--subject ID] [--type TYPE] [--since RFC3339] [--until RFC3339]
      writes the audit log's events to stdout as JSON lines, oldest first
`

// exportPage is how many events export reads from the store at a time.
const exportPage = 1000

func (a *app) events(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "export" {
		if len(args) == 0 {
			return usagef("events needs a subcommand\n\n%s", eventsUsage)
		}
		return usagef("unknown events subcommand %q\n\n%s", args[0], eventsUsage)
	}
	fs := a.newFlagSet("events export")
	cfgPath := configFlag(fs)
	subject := fs.String("subject", "", "only events about `ID` (a customer, client or key)")
	typ := fs.String("type", "", "only events of `TYPE`, such as user.created")
	since := fs.String("since", "", "only events at or after `TIME` (RFC 3339)")
	until := fs.String("until", "", "only events before `TIME` (RFC 3339)")
	if err := parseNoArgs(fs, args[1:]); err != nil {
		return err
	}
	filter := storage.EventFilter{Subject: *subject, Type: *typ}
	if filter.Type != "" && !slices.Contains(events.Types(), filter.Type) {
		return usagef("--type %q is no event type (docs/events.md)", filter.Type)
	}
	for _, f := range []struct {
		name, value string
		dst         *time.Time
	}{{"since", *since, &filter.From}, {"until", *until, &filter.To}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.value)
		if err != nil {
			return usagef("--%s must be an RFC 3339 time, such as 2025-01-31T12:00:00Z (got %q)", f.name, f.value)
		}
		*f.dst = t
	}
	_, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	return exportEvents(ctx, store, filter, a.stdout)
}

// eventLine is one line of an export: the admin API's event shape.
type eventLine struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Time      time.Time       `json:"time"`
	Subject   string          `json:"subject"`
	Actor     storage.Actor   `json:"actor"`
	RequestID string          `json:"request_id,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// exportEvents writes the events the filter selects as JSON lines, one
// page of the store at a time, so that memory stays flat however long the
// log.
func exportEvents(ctx context.Context, store storage.EventStore, filter storage.EventFilter, out io.Writer) error {
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	page := storage.Page{Limit: exportPage}
	for {
		es, err := store.ListEvents(ctx, filter, page)
		if err != nil {
			return err
		}
		for _, e := range es {
			data := e.Data
			if !json.Valid(data) {
				data = json.RawMessage("{}")
			}
			if err := enc.Encode(eventLine{ID: e.ID, Type: e.Type, Time: e.Time, Subject: e.Subject, Actor: e.Actor, RequestID: e.RequestID, Data: data}); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if len(es) < exportPage {
			return nil
		}
		page.After = es[len(es)-1].ID
	}
}
