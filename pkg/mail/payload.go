package mail

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// payload is a mail job's stored form. Kind, recipient and language are
// in the clear, so an operator looking at a dead job sees what and to
// whom; the data is sealed (AES-256-GCM under the system secret, bound to
// the job's ID), because it may hold a one-time link or code that would
// let a reader of the database or of a backup take over the account while
// the mail waits. Once sent, the job is deleted.
type payload struct {
	V        int    `json:"v"`
	Kind     Kind   `json:"kind"`
	To       string `json:"to"`
	Language string `json:"lang"`
	// Data is the sealed JSON of Data.
	Data []byte `json:"data"`
}

// payloadVersion is the version of payload written now.
const payloadVersion = 1

// sealLabel prefixes the additional data of a sealed payload, so that it
// opens only as the data of this job.
const sealLabel = "gatehouse mail job "

func seal(keys *secret.Keys, jobID string, m Message) ([]byte, error) {
	data, err := json.Marshal(m.Data)
	if err != nil {
		return nil, fmt.Errorf("mail: encode data: %w", err)
	}
	b, err := json.Marshal(payload{
		V: payloadVersion, Kind: m.Kind, To: m.To, Language: m.Language,
		Data: keys.Seal(data, []byte(sealLabel+jobID)),
	})
	if err != nil {
		return nil, fmt.Errorf("mail: encode job: %w", err)
	}
	return b, nil
}

func open(keys *secret.Keys, job storage.Job) (Message, error) {
	var p payload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return Message{}, fmt.Errorf("mail: stored job: %w", err)
	}
	if p.V != payloadVersion {
		return Message{}, fmt.Errorf("mail: stored job of version %d, want %d", p.V, payloadVersion)
	}
	data, err := keys.Open(p.Data, []byte(sealLabel+job.ID))
	if err != nil {
		return Message{}, fmt.Errorf("mail: open the stored data: %w", err)
	}
	m := Message{Kind: p.Kind, To: p.To, Language: p.Language}
	if err := json.Unmarshal(data, &m.Data); err != nil {
		return Message{}, fmt.Errorf("mail: stored data: %w", err)
	}
	return m, nil
}
