// Package reqlog lets a handler add attributes to the one log line the
// server's middleware writes for each request: what went wrong, in the
// handler's words, next to the request id, route and status.
package reqlog

import (
	"log/slog"
	"net/http"
)

// Annotator is a response writer that carries attributes for its request's
// log line; the server's middleware provides one.
type Annotator interface {
	AddLogAttrs(attrs ...slog.Attr)
}

// Annotate adds attrs to the log line of the request that w answers, if
// w, or a writer it wraps (Unwrap, as http.ResponseController follows),
// is an Annotator; otherwise it does nothing. Attributes must carry no
// secret: no code, token, password or client secret.
func Annotate(w http.ResponseWriter, attrs ...slog.Attr) {
	for w != nil {
		if a, ok := w.(Annotator); ok {
			a.AddLogAttrs(attrs...)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
