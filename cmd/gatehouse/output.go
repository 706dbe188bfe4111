package main

import (
	"encoding/json"
	"flag"
	"io"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
)

// outputFlag adds --output json|text.
func outputFlag(fs *flag.FlagSet) *string {
	return fs.String("output", "text", "output format: `json` or text")
}

func checkOutput(format string) error {
	if format != "json" && format != "text" {
		return usagef("--output must be json or text (got %q)", format)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clientJSON is a client as the command line prints it: the one client
// shape of RFC 7591 §2 (clients.Metadata), so that scripts can feed it to
// other OAuth tools, with its creation time.
type clientJSON struct {
	clients.Metadata
	CreatedAt time.Time `json:"created_at"`
}

func toClientJSON(c storage.Client, secret string) clientJSON {
	md := clients.MetadataOf(c)
	md.ClientSecret = secret
	return clientJSON{Metadata: md, CreatedAt: c.CreatedAt}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func joinSpace(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}

// everyPage reads a listing ordered by ID page by page and converts every
// item for printing.
func everyPage[T, J any](list func(storage.Page) ([]T, error), id func(T) string, conv func(T) J) ([]J, error) {
	all := []J{}
	page := storage.Page{Limit: 500}
	for {
		batch, err := list(page)
		if err != nil {
			return nil, err
		}
		for _, item := range batch {
			all = append(all, conv(item))
		}
		if len(batch) < page.Limit {
			return all, nil
		}
		page.After = id(batch[len(batch)-1])
	}
}
