package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/storage"
)

func TestPagination(t *testing.T) {
	parse := func(query string) (storage.Page, int, int) {
		t.Helper()
		w := httptest.NewRecorder()
		page, limit, _ := parsePage(w, httptest.NewRequest(http.MethodGet, "/x?"+query, nil))
		return page, limit, w.Code
	}
	t.Run("the default limit asks the store for one more", func(t *testing.T) {
		page, limit, _ := parse("")
		if limit != defaultLimit || page.Limit != defaultLimit+1 || page.After != "" {
			t.Errorf("page %+v limit %d", page, limit)
		}
	})
	t.Run("a bad limit or cursor is a 400 problem", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=%21%21", "cursor="} {
			if _, _, code := parse(q); q != "cursor=" && code != http.StatusBadRequest {
				t.Errorf("%s: %d", q, code)
			}
		}
	})
	t.Run("the cursor of a full page leads to the next", func(t *testing.T) {
		ids := []string{"a", "b", "c"}
		out := pageOf(ids, 2, func(s string) string { return s }, func(s string) string { return s })
		if len(out.Items) != 2 || out.NextCursor == "" {
			t.Fatalf("page = %+v", out)
		}
		page, _, code := parse("limit=2&cursor=" + out.NextCursor)
		if code != http.StatusOK || page.After != "b" {
			t.Errorf("next page after %q (code %d), want b", page.After, code)
		}
		if last := pageOf(ids[2:], 2, func(s string) string { return s }, func(s string) string { return s }); last.NextCursor != "" {
			t.Errorf("a partial page has a cursor: %+v", last)
		}
	})
}
