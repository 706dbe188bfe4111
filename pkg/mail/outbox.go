package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Outbox writes each mail whole (RFC 5322) to a file in a folder, for
// development: no mail leaves the machine, and any mail program opens the
// .eml files. A file is named after the job's ID (time-ordered) and the
// kind, so they sort by the time the mail was queued and a retry
// overwrites its own file. Files are readable by the owner only: they hold
// one-time links and codes.
type Outbox struct {
	dir string
}

// NewOutbox returns an Outbox writing to dir, which its first mail
// creates (mode 0700) when missing.
func NewOutbox(dir string) *Outbox {
	return &Outbox{dir: dir}
}

// Dir returns the outbox folder.
func (o *Outbox) Dir() string { return o.dir }

// Send writes the mail to a new file, whole or not at all (a temporary
// file renamed), and returns its path.
func (o *Outbox) Send(_ context.Context, e Envelope) (string, error) {
	path := filepath.Join(o.dir, e.ID+"-"+string(e.Kind)+".eml")
	msg, err := e.Msg()
	if err != nil {
		return path, err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return path, fmt.Errorf("mail: outbox: %w", err)
	}
	tmp, err := os.CreateTemp(o.dir, ".writing-*.eml")
	if err != nil {
		return path, fmt.Errorf("mail: outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return path, fmt.Errorf("mail: outbox: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return path, fmt.Errorf("mail: outbox: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return path, fmt.Errorf("mail: outbox: %w", err)
	}
	return path, nil
}
