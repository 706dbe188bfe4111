package server

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/ui"
)

// notFound answers unknown paths: a browser gets the friendly page in its
// language, anything else a JSON 404.
func notFound(pages *ui.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			pages.Error(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not_found"}` + "\n"))
	})
}

// methodNotAllowed answers a known path asked with a method none of its
// routes takes: 405 with the Allow header RFC 9110 §15.5.6 requires,
// listing the methods that do match.
func methodNotAllowed(router *mux.Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			probe := r.Clone(r.Context())
			probe.Method = m
			var match mux.RouteMatch
			if router.Match(probe, &match) && match.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"error":"method_not_allowed"}` + "\n"))
	})
}
