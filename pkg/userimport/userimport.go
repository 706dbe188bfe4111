// Package userimport reads an import of customers in JSON Lines
// (docs/import.md) and feeds it, batch by batch, to the account service's
// ImportCustomers, so that the command line (`gatehouse import users`) and
// the admin API (`POST /admin/v1/customers/import`) import alike. It reads
// the stream once and holds one batch at a time, whatever the file's size.
// A line that cannot be read or imported is reported with its number and
// reason; the rest go on.
package userimport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
)

// Defaults and bounds.
const (
	// DefaultBatchSize is the number of records imported in one
	// transaction unless Options say otherwise.
	DefaultBatchSize = 1000
	// MaxBatchSize bounds Options.BatchSize.
	MaxBatchSize = 5000
	// MaxLineBytes bounds one line; a longer one fails alone.
	MaxLineBytes = 64 << 10
	// DefaultMaxErrors is how many failed lines a Summary lists unless
	// Options say otherwise; the count covers them all.
	DefaultMaxErrors = 1000
)

// Importer is what imports a batch: *accounts.Service.
type Importer interface {
	ImportCustomers(ctx context.Context, records []accounts.ImportRecord, opts accounts.ImportOptions) ([]accounts.ImportResult, error)
}

// Preparer is an Importer that checks a batch apart from writing it
// (*accounts.Service): Run then checks each batch as it reads it, while
// the database writes the one before.
type Preparer interface {
	PrepareImport(records []accounts.ImportRecord) *accounts.PreparedImport
	ImportPrepared(ctx context.Context, p *accounts.PreparedImport, opts accounts.ImportOptions) ([]accounts.ImportResult, error)
}

// Options shape a run.
type Options struct {
	OnConflict accounts.OnConflict
	DryRun     bool
	// BatchSize is the records per transaction; 0 is DefaultBatchSize.
	BatchSize int
	// MaxErrors caps Summary.Errors; 0 is DefaultMaxErrors.
	MaxErrors int
	// Progress, when set, is called after each batch with the summary so
	// far and the bytes of input read.
	Progress func(s Summary, bytesRead int64)
	// CreateRoles creates the global roles the roles members name that do
	// not exist; without it such a line fails.
	CreateRoles bool
	// Parallel is how many batches may be written at once, each in its own
	// transaction; 0 or 1 writes them one after another. Worth it where
	// the database has writers to spare (PostgreSQL), not on SQLite, which
	// has one. Outcomes are counted in input order, and a batch that
	// names a customer the batch before it names starts only after that
	// one has committed, so a later line about a customer always sees the
	// earlier one's result.
	Parallel int
	// InitialLoad, when set, is offered the import first (the store's
	// storage.ImportStore.InitialLoad): if it takes it, the lines load
	// in one transaction, each batch created without looking for its
	// customers, the lines that name a customer an earlier line names
	// held back and imported after the rest. Not with DryRun.
	InitialLoad func(ctx context.Context, load, finish func(ctx context.Context) error) (bool, error)
}

// LineError is a line that failed, with why.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Summary is what a run did.
type Summary struct {
	ImportID string `json:"import_id"`
	DryRun   bool   `json:"dry_run"`
	Created  int    `json:"created"`
	Updated  int    `json:"updated"`
	Skipped  int    `json:"skipped"`
	Failed   int    `json:"failed"`
	// Errors lists failed lines in order, at most Options.MaxErrors.
	Errors []LineError `json:"errors"`
	// ErrorsTruncated says more lines failed than Errors lists.
	ErrorsTruncated bool `json:"errors_truncated"`
	// InitialLoad says the import ran as one transaction (Options): on
	// failure nothing of it was written.
	InitialLoad bool `json:"initial_load,omitempty"`
}

// Lines is the number of records the run handled.
func (s Summary) Lines() int { return s.Created + s.Updated + s.Skipped + s.Failed }

// Line is one line of the format (docs/import.md): what an import reads
// and an export writes. Unknown members fail the line, so a misspelt
// member is not silently dropped.
type Line struct {
	Email         string         `json:"email,omitempty"`
	EmailVerified *bool          `json:"email_verified,omitempty"`
	Name          string         `json:"name,omitempty"`
	GivenName     string         `json:"given_name,omitempty"`
	FamilyName    string         `json:"family_name,omitempty"`
	Locale        string         `json:"locale,omitempty"`
	PhoneNumber   string         `json:"phone_number,omitempty"`
	ExternalID    string         `json:"external_id,omitempty"`
	PasswordHash  string         `json:"password_hash,omitempty"`
	Identities    []LineIdentity `json:"identities,omitempty"`
	CreatedAt     *time.Time     `json:"created_at,omitempty"`
	// ID keeps the old system's subject as the customer's ID.
	ID string `json:"id,omitempty"`
	// Roles names global roles to give the customer (docs/import.md).
	Roles []string `json:"roles,omitempty"`
	// Attributes are customer attribute values by name, typed as declared.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// LineIdentity is a linked upstream account in a Line.
type LineIdentity struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
	Email    string `json:"email,omitempty"`
}

// Run reads r to its end and imports what it holds. It returns the
// summary and an error only for a failure that stops the import (the
// input cannot be read, the database fails, ctx ends); batches committed
// before it stay committed, and the summary counts them. With
// Options.InitialLoad, an import into a database without customers may
// instead run as one transaction (docs/import.md, "Initial load"): then a
// failure leaves nothing written, and the summary counts no customer.
func Run(ctx context.Context, r io.Reader, imp Importer, opts Options) (Summary, error) {
	run := newRun(imp, opts)
	if opts.InitialLoad != nil && !opts.DryRun {
		run.keepLowest = true
		started, err := opts.InitialLoad(ctx, func(ctx context.Context) error {
			return run.load(ctx, r)
		}, run.finish)
		run.keepLowest = false
		if started {
			run.sum.InitialLoad = true
			if err != nil {
				run.sum.Created, run.sum.Updated, run.sum.Skipped = 0, 0, 0
			}
			run.sortErrors()
			return run.sum, err
		}
		if err != nil {
			return run.sum, fmt.Errorf("initial load: %w", err)
		}
	}
	return run.sum, run.stream(ctx, r)
}

// run is one Run's state.
type run struct {
	imp        Importer
	opts       Options
	batchSize  int
	maxErrors  int
	onConflict accounts.OnConflict
	sum        Summary
	batchNo    int
	// seen and deferred serve an initial load (load), which keeps the
	// failures of the lowest lines (keepLowest) and reports its held-back
	// batches as ending where the input ends (inputBytes).
	seen       seenKeys
	deferred   []accounts.ImportRecord
	keepLowest bool
	inputBytes int64
}

func newRun(imp Importer, opts Options) *run {
	r := &run{imp: imp, opts: opts, batchSize: opts.BatchSize, maxErrors: opts.MaxErrors, onConflict: opts.OnConflict}
	if r.batchSize <= 0 {
		r.batchSize = DefaultBatchSize
	}
	r.batchSize = min(r.batchSize, MaxBatchSize)
	if r.maxErrors <= 0 {
		r.maxErrors = DefaultMaxErrors
	}
	if r.onConflict == "" {
		r.onConflict = accounts.ConflictSkip
	}
	r.sum = Summary{ImportID: uuid.Must(uuid.NewV7()).String(), DryRun: opts.DryRun, Errors: []LineError{}}
	return r
}

func (r *run) fail(line int, reason string) {
	r.sum.Failed++
	if r.keepLowest {
		// Held-back lines fail after later ones: keep every failure, cut
		// back to the lowest lines now and then and at the end.
		r.sum.Errors = append(r.sum.Errors, LineError{Line: line, Reason: reason})
		if len(r.sum.Errors) >= 2*r.maxErrors {
			r.sortErrors()
		}
		return
	}
	if len(r.sum.Errors) < r.maxErrors {
		r.sum.Errors = append(r.sum.Errors, LineError{Line: line, Reason: reason})
	} else {
		r.sum.ErrorsTruncated = true
	}
}

// sortErrors puts the failed lines in line order and keeps the first
// maxErrors: an initial load reports the lines it held back after the
// others.
func (r *run) sortErrors() {
	slices.SortStableFunc(r.sum.Errors, func(a, b LineError) int { return a.Line - b.Line })
	if len(r.sum.Errors) > r.maxErrors {
		r.sum.Errors = r.sum.Errors[:r.maxErrors]
		r.sum.ErrorsTruncated = true
	}
}

// stream imports r batch by batch, each batch its own transaction, up to
// Options.Parallel at once.
func (r *run) stream(ctx context.Context, in io.Reader) error {
	parallel := max(r.opts.Parallel, 1)
	return r.write(ctx, parallel, false, func(ctx context.Context, out chan<- chunk) error {
		return readChunks(ctx, in, r.newChunker(parallel, out), nil)
	})
}

// load is an initial load's first part: every record whose keys no earlier
// line named, created without looking for it (accounts.ImportOptions.Fresh)
// in the transaction in ctx. A record that shares a key with an earlier
// line waits for finish.
func (r *run) load(ctx context.Context, in io.Reader) error {
	r.seen = newSeenKeys()
	return r.write(ctx, 1, true, func(ctx context.Context, out chan<- chunk) error {
		c := r.newChunker(1, out)
		err := readChunks(ctx, in, c, r.holdBack)
		r.inputBytes = c.offset() // the whole input, once read
		return err
	})
}

// holdBack keeps rec for finish when one of its keys was seen before, and
// remembers its keys either way (so that a line naming a held-back one's
// key is held back too, and keeps its place after it).
func (r *run) holdBack(rec accounts.ImportRecord, keys []string) bool {
	if r.seen.addAll(keys) {
		r.deferred = append(r.deferred, rec)
		return true
	}
	return false
}

// finish is an initial load's second part: the held-back records, in input
// order, matched against the customers like any import's.
func (r *run) finish(ctx context.Context) error {
	records := r.deferred
	r.deferred, r.seen = nil, seenKeys{}
	if len(records) == 0 {
		return nil
	}
	return r.write(ctx, 1, false, func(ctx context.Context, out chan<- chunk) error {
		c := r.newChunker(1, out)
		c.offset = func() int64 { return r.inputBytes }
		for _, rec := range records {
			if err := c.add(ctx, rec, keysOf(rec)); err != nil {
				return err
			}
		}
		return c.send(ctx, true)
	})
}

// newChunker returns a chunker of the run's batches for out, which checks
// them when the Importer can apart from writing them.
func (r *run) newChunker(window int, out chan<- chunk) *chunker {
	c := newChunker(r.batchSize, window, out)
	if p, ok := r.imp.(Preparer); ok {
		c.prepare = p.PrepareImport
	}
	return c
}

// write imports the chunks produce sends, up to parallel batches at once,
// counting their outcomes in input order.
func (r *run) write(ctx context.Context, parallel int, fresh bool, produce func(ctx context.Context, out chan<- chunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		readErr <- produce(ctx, chunks)
	}()
	// Batches are written up to parallel at once and their outcomes
	// counted in input order; a batch that names a customer the one before
	// it names starts only after that one has committed.
	var pending []*batchRun
	var firstErr error
	collect := func() {
		b := pending[0]
		pending = pending[1:]
		<-b.done
		if firstErr != nil {
			return
		}
		if b.err != nil {
			firstErr = b.err
			cancel()
			return
		}
		// The batch's unreadable lines and its records' failures, in
		// line order: batches come in line order, so all are.
		failed := slices.Clone(b.c.failed)
		for _, res := range b.results {
			switch res.Outcome {
			case accounts.ImportCreated:
				r.sum.Created++
			case accounts.ImportUpdated:
				r.sum.Updated++
			case accounts.ImportSkipped:
				r.sum.Skipped++
			default:
				failed = append(failed, LineError{Line: res.Line, Reason: res.Reason})
			}
		}
		slices.SortStableFunc(failed, func(a, b LineError) int { return a.Line - b.Line })
		for _, e := range failed {
			r.fail(e.Line, e.Reason)
		}
		if r.opts.Progress != nil && (len(b.c.records) > 0 || b.c.last) {
			r.opts.Progress(r.sum, b.c.offset)
		}
	}
	for c := range chunks {
		for len(pending) > 0 && (len(pending) >= parallel || c.afterPrevious || firstErr != nil) {
			collect()
		}
		if firstErr != nil {
			continue // drain the producer, which stops at the cancelled ctx
		}
		b := &batchRun{c: c, done: make(chan struct{})}
		pending = append(pending, b)
		if len(c.records) == 0 {
			close(b.done)
			continue
		}
		r.batchNo++
		go func(no int) {
			defer close(b.done)
			opts := accounts.ImportOptions{
				OnConflict: r.onConflict, DryRun: r.opts.DryRun, ImportID: r.sum.ImportID, Batch: no,
				CreateRoles: r.opts.CreateRoles, Fresh: fresh,
			}
			if p, ok := r.imp.(Preparer); ok && c.prepared != nil {
				b.results, b.err = p.ImportPrepared(ctx, c.prepared, opts)
			} else {
				b.results, b.err = r.imp.ImportCustomers(ctx, c.records, opts)
			}
			if b.err != nil {
				b.err = fmt.Errorf("import lines %d-%d: %w", c.records[0].Line, c.records[len(c.records)-1].Line, b.err)
			}
		}(r.batchNo)
	}
	for len(pending) > 0 {
		collect()
	}
	produceErr := <-readErr
	switch {
	case firstErr != nil:
		return firstErr
	case produceErr != nil:
		return produceErr
	}
	return ctx.Err()
}

// batchRun is a batch being written, and its outcome once done is closed.
type batchRun struct {
	c       chunk
	done    chan struct{}
	results []accounts.ImportResult
	err     error
}

// chunk is what readChunks hands on: a batch of parsed records, the lines
// before its end that failed to parse, and how far into the input it ends.
type chunk struct {
	records []accounts.ImportRecord
	failed  []LineError
	offset  int64
	// last marks the input's final chunk.
	last bool
	// afterPrevious marks a chunk with a customer that one of the chunks
	// that may still be being written names too: it must be written after
	// they have committed.
	afterPrevious bool
	// prepared is the records checked, when the Importer is a Preparer.
	prepared *accounts.PreparedImport
}

// chunker gathers records into batches of up to batchSize and sends them
// on out. A batch ends early before a record that names a customer
// (email, external ID, kept ID, upstream account) another record of the
// batch names: that record waits for the first to be committed, so it is
// matched against it. With window batches written at once, a batch naming
// a customer that one of the window-1 batches before it names is marked
// afterPrevious.
type chunker struct {
	batchSize, window int
	out               chan<- chunk
	cur               chunk
	keys              map[string]bool // the batch's emails, external IDs and upstream accounts
	// recent are the keys of the batches sent before this one that may
	// still be being written beside it.
	recent []map[string]bool
	// offset, when set, says how far into the input the batch ends.
	offset func() int64
	// prepare, when set, checks a batch's records before it is sent.
	prepare func([]accounts.ImportRecord) *accounts.PreparedImport
}

func newChunker(batchSize, window int, out chan<- chunk) *chunker {
	return &chunker{batchSize: batchSize, window: window, out: out,
		cur: chunk{records: make([]accounts.ImportRecord, 0, batchSize)}, keys: map[string]bool{}}
}

// send hands the batch on and starts the next.
func (c *chunker) send(ctx context.Context, last bool) error {
	c.cur.last = last
	if c.offset != nil {
		c.cur.offset = c.offset()
	}
	if c.prepare != nil && len(c.cur.records) > 0 {
		c.cur.prepared = c.prepare(c.cur.records)
	}
	select {
	case c.out <- c.cur:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.window > 1 {
		c.recent = append(c.recent, c.keys)
		if len(c.recent) > c.window-1 {
			c.recent = c.recent[1:]
		}
	}
	c.cur, c.keys = chunk{records: make([]accounts.ImportRecord, 0, c.batchSize)}, map[string]bool{}
	return nil
}

// add puts rec, whose keys (keysOf) are recKeys, in the batch, sending
// batches as they fill.
func (c *chunker) add(ctx context.Context, rec accounts.ImportRecord, recKeys []string) error {
	for _, k := range recKeys {
		if c.keys[k] {
			if err := c.send(ctx, false); err != nil {
				return err
			}
			break
		}
	}
	for _, k := range recKeys {
		c.keys[k] = true
		for _, r := range c.recent {
			if r[k] {
				c.cur.afterPrevious = true
			}
		}
	}
	c.cur.records = append(c.cur.records, rec)
	if len(c.cur.records) >= c.batchSize {
		return c.send(ctx, false)
	}
	return nil
}

// readChunks reads r to its end, parsing its lines into c's batches, so
// that the next batch is parsed (and checked) while the database writes
// this one. A record for which holdBack, when set, returns true is left
// out of the batches.
func readChunks(ctx context.Context, r io.Reader, c *chunker, holdBack func(rec accounts.ImportRecord, keys []string) bool) error {
	counter := &countingReader{r: r}
	br := bufio.NewReaderSize(counter, 64<<10)
	c.offset = func() int64 { return counter.n - int64(br.Buffered()) }
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read line %d: %w", line, err)
		}
		eof := errors.Is(err, io.EOF)
		switch trimmed := bytes.TrimSpace(raw); {
		case tooLong:
			c.cur.failed = append(c.cur.failed, LineError{Line: line, Reason: fmt.Sprintf("the line is longer than %d bytes", MaxLineBytes)})
		case len(trimmed) == 0:
			// Blank lines are allowed, and skipped without a count.
		default:
			rec, err := parse(trimmed, line)
			if err != nil {
				c.cur.failed = append(c.cur.failed, LineError{Line: line, Reason: err.Error()})
				break
			}
			keys := keysOf(rec)
			if holdBack != nil && holdBack(rec, keys) {
				break
			}
			if err := c.add(ctx, rec, keys); err != nil {
				return err
			}
		}
		if eof {
			return c.send(ctx, true)
		}
	}
}

// seenKeys is a set of record keys (keysOf) kept as 64-bit hashes, so that
// an initial load of a million lines remembers them in tens of megabytes.
// Two keys with one hash only hold a record back for finish, where the
// database decides; a key is never missed.
type seenKeys struct {
	seed maphash.Seed
	set  map[uint64]struct{}
}

func newSeenKeys() seenKeys {
	return seenKeys{seed: maphash.MakeSeed(), set: map[uint64]struct{}{}}
}

// addAll adds keys and reports whether one of them was there already.
func (s seenKeys) addAll(keys []string) bool {
	seen := false
	for _, k := range keys {
		h := maphash.String(s.seed, k)
		if _, ok := s.set[h]; ok {
			seen = true
		}
		s.set[h] = struct{}{}
	}
	return seen
}

// parse decodes one line into a record.
func parse(line []byte, n int) (accounts.ImportRecord, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var rec Line
	if err := dec.Decode(&rec); err != nil {
		return accounts.ImportRecord{}, fmt.Errorf("not a JSON object of the import format: %s", jsonReason(err))
	}
	if dec.More() {
		return accounts.ImportRecord{}, errors.New("more than one JSON value on the line")
	}
	out := accounts.ImportRecord{
		Line: n, Email: rec.Email, EmailVerified: rec.EmailVerified, Name: rec.Name, GivenName: rec.GivenName,
		FamilyName: rec.FamilyName, Locale: rec.Locale, PhoneNumber: rec.PhoneNumber, ExternalID: rec.ExternalID,
		PasswordHash: rec.PasswordHash, ID: rec.ID, Roles: rec.Roles, Attributes: rec.Attributes,
	}
	if rec.CreatedAt != nil {
		out.CreatedAt = rec.CreatedAt.UTC()
	}
	for _, id := range rec.Identities {
		out.Identities = append(out.Identities, accounts.ImportIdentity{Provider: id.Provider, Subject: id.Subject, Email: id.Email})
	}
	return out, nil
}

// jsonReason says what is wrong with a line without quoting its values
// (a line may hold a password hash).
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("member %q must be %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON value is incomplete"
	case errors.As(err, &timeErr), strings.Contains(err.Error(), "Time.UnmarshalJSON"):
		return `member "created_at" must be an RFC 3339 time`
	default:
		return "invalid JSON"
	}
}

// keysOf names what identifies a record's customer within a batch (and,
// in an initial load, within the whole input).
func keysOf(r accounts.ImportRecord) []string {
	var out []string
	if r.Email != "" {
		out = append(out, "e:"+strings.ToLower(strings.TrimSpace(r.Email)))
	}
	if r.ExternalID != "" {
		out = append(out, "x:"+r.ExternalID)
	}
	if r.ID != "" {
		out = append(out, "id:"+r.ID)
	}
	for _, id := range r.Identities {
		out = append(out, "i:"+id.Provider+"\x00"+id.Subject)
	}
	return out
}

// readLine returns the next line without its newline. A line longer than
// MaxLineBytes is read to its end and dropped: tooLong.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineBytes+1 {
			tooLong = true
		} else {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			buf = nil
		}
		return bytes.TrimSuffix(buf, []byte("\n")), tooLong, err
	}
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
