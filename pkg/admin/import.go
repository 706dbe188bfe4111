package admin

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/userimport"
)

// ImportTimeout is how long an import request may take to upload and
// answer, in place of the server's read and write timeouts.
const ImportTimeout = 2 * time.Hour

// isJSONLines reports whether the media type is one of JSON Lines'.
func isJSONLines(mediaType string) bool {
	switch mediaType {
	case "application/x-ndjson", "application/jsonl", "application/x-jsonlines":
		return true
	}
	return false
}

// importCustomers imports customers from a JSON Lines body
// (docs/import.md), batch by batch as it arrives, and answers the summary.
// Query parameters: on_conflict (skip, update, fail), dry_run, batch_size,
// create_roles.
func (a *API) importCustomers(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !isJSONLines(mt) {
		writeProblem(w, http.StatusUnsupportedMediaType, "The body must be JSON Lines: application/x-ndjson or application/jsonl.")
		return
	}
	q := r.URL.Query()
	opts := userimport.Options{OnConflict: accounts.ConflictSkip}
	if v := q.Get("on_conflict"); v != "" {
		c, err := accounts.ParseOnConflict(v)
		if err != nil {
			writeFieldProblem(w, http.StatusBadRequest, "on_conflict", err.Error())
			return
		}
		opts.OnConflict = c
	}
	if v := q.Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeFieldProblem(w, http.StatusBadRequest, "dry_run", "dry_run must be true or false.")
			return
		}
		opts.DryRun = b
	}
	if v := q.Get("create_roles"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeFieldProblem(w, http.StatusBadRequest, "create_roles", "create_roles must be true or false.")
			return
		}
		opts.CreateRoles = b
	}
	if v := q.Get("batch_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > userimport.MaxBatchSize {
			writeFieldProblem(w, http.StatusBadRequest, "batch_size", "batch_size must be between 1 and "+strconv.Itoa(userimport.MaxBatchSize)+".")
			return
		}
		opts.BatchSize = n
	}
	// A large import outlasts the server's read and write timeouts.
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(ImportTimeout)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)

	sum, err := userimport.Run(r.Context(), r.Body, a.accounts, opts)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// The batches before the limit are committed; say so.
			a.log.WarnContext(r.Context(), "import body over the limit", "import_id", sum.ImportID, "created", sum.Created, "updated", sum.Updated)
			writeProblem(w, http.StatusRequestEntityTooLarge, "The body is too large; the batches before the limit were imported (import "+sum.ImportID+"). Split the file.")
			return
		}
		a.log.ErrorContext(r.Context(), "import failed", "import_id", sum.ImportID, "lines", sum.Lines(), "error", err.Error())
		writeProblem(w, http.StatusInternalServerError, "The import stopped at a failure of the server after "+strconv.Itoa(sum.Lines())+
			" lines; the batches before it were imported (import "+sum.ImportID+"). Import the file again with on_conflict=skip to finish.")
		return
	}
	a.log.InfoContext(r.Context(), "import", "import_id", sum.ImportID, "dry_run", sum.DryRun,
		"created", sum.Created, "updated", sum.Updated, "skipped", sum.Skipped, "failed", sum.Failed)
	writeJSON(w, http.StatusOK, sum)
}
