package reqlog_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/reqlog"
)

type annotator struct {
	http.ResponseWriter
	attrs []slog.Attr
}

func (a *annotator) AddLogAttrs(attrs ...slog.Attr) { a.attrs = append(a.attrs, attrs...) }

type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestAnnotate(t *testing.T) {
	t.Run("the annotator behind a wrapper gets the attributes", func(t *testing.T) {
		a := &annotator{ResponseWriter: httptest.NewRecorder()}
		reqlog.Annotate(wrapper{a}, slog.String("error", "invalid_grant"))
		reqlog.Annotate(a, slog.String("client_id", "app"))
		if len(a.attrs) != 2 || a.attrs[0].Value.String() != "invalid_grant" || a.attrs[1].Key != "client_id" {
			t.Errorf("attrs = %v", a.attrs)
		}
	})
	t.Run("a writer with no annotator is left alone", func(t *testing.T) {
		rec := httptest.NewRecorder()
		reqlog.Annotate(wrapper{rec}, slog.String("error", "x"))
		reqlog.Annotate(nil, slog.String("error", "x"))
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Errorf("the writer was used: %d %q", rec.Code, rec.Body.String())
		}
	})
}
