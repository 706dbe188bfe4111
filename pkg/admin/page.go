package admin

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Page sizes of listings.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// list is the envelope of every listing. NextCursor is present when there
// may be more items: pass it back as ?cursor= for the next page.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// parsePage reads ?limit= and ?cursor=. The cursor is opaque to callers; it
// is the last listed ID, base64url-encoded. It asks the store for one item
// more than the limit, so that a full last page is told from a partial one.
// On a bad value it writes a 400 problem and returns false.
func parsePage(w http.ResponseWriter, r *http.Request) (storage.Page, int, bool) {
	q := r.URL.Query()
	limit := defaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			writeFieldProblem(w, http.StatusBadRequest, "limit", "limit must be a number from 1 to "+strconv.Itoa(maxLimit)+".")
			return storage.Page{}, 0, false
		}
		limit = n
	}
	var after string
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 {
			writeFieldProblem(w, http.StatusBadRequest, "cursor", "The cursor is not one this API returned.")
			return storage.Page{}, 0, false
		}
		after = string(b)
	}
	return storage.Page{After: after, Limit: limit + 1}, limit, true
}

// pageOf cuts the store's answer to limit and sets the cursor when there
// is more.
func pageOf[S, T any](items []S, limit int, id func(S) string, render func(S) T) list[T] {
	out := list[T]{Items: make([]T, 0, min(len(items), limit))}
	for i, it := range items {
		if i == limit {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(id(items[i-1])))
			break
		}
		out.Items = append(out.Items, render(it))
	}
	return out
}

// whole is the envelope of a listing returned in one piece.
func whole[S, T any](items []S, render func(S) T) list[T] {
	out := list[T]{Items: make([]T, 0, len(items))}
	for _, it := range items {
		out.Items = append(out.Items, render(it))
	}
	return out
}
