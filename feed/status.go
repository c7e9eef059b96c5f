package feed

import (
	"time"

	"github.com/safewrr/safewrr/weights"
)

// Outcome is what a poll did.
type Outcome string

// Outcomes of a poll, in Status.LastPoll.
const (
	// Applied: the payload was new and its nodes now serve.
	Applied Outcome = "applied"
	// Unchanged: the payload was the same as the previous poll's.
	Unchanged Outcome = "unchanged"
	// Refused: the payload was new but was not applied (see Status.Refused).
	Refused Outcome = "refused"
	// FetchError: the source returned an error.
	FetchError Outcome = "fetch-error"
)

// Status is a snapshot of a Feed. It is a copy: later polls do not change
// it. Its slices and maps are shared with other snapshots and must not be
// modified. Its JSON form is what `safewrr proxy` reports on its status page.
type Status struct {
	// Source is the source's String (a URL is redacted).
	Source string `json:"registry"`
	// Polls counts completed polls, Generation applied updates.
	Polls      int64 `json:"polls"`
	Generation int64 `json:"generation"`
	// PolledAt and AppliedAt are the times of the last poll and of the last
	// applied update; zero (and left out of the JSON) before the first.
	PolledAt  time.Time `json:"polled_at,omitzero"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
	// LastPoll is the outcome of the last poll; "" before the first.
	LastPoll Outcome `json:"last_poll"`
	// LastError says why the serving nodes may not be what the registry
	// says now: the last fetch error or refusal. It stays until an update
	// is applied, or until the source again returns the payload that is
	// serving.
	LastError string `json:"last_error,omitempty"`
	// Refused is the last update that was refused; it stays until an update
	// is applied.
	Refused *Refusal `json:"last_refused"`
	// FetchFailures counts consecutive failed fetches (0 after a success).
	FetchFailures int `json:"fetch_failures"`
	// Nodes are the nodes of the last applied update, in the registry's
	// order, with their configured weights (the balancer's States add
	// ejection and slow start). Empty until an update is applied.
	Nodes []weights.Node `json:"-"`

	// What the latest decoded payload held (kept through fetch errors and
	// unchanged polls).

	// Format is the payload's format as decoded ("" before the first).
	Format string `json:"format,omitempty"`
	// Entries is the number of nodes the payload held, accepted or not.
	Entries int `json:"entries"`
	// Rejected counts the rejected nodes, Reasons counts them per reason,
	// Rejects lists the first of them (WithMaxListed) in payload order.
	Rejected  int            `json:"rejected"`
	Reasons   map[string]int `json:"reject_reasons"`
	Rejects   []Reject       `json:"rejects"`
	RejectsAt time.Time      `json:"rejects_at,omitzero"`
	// Noted counts the decoder's notes, NoteCodes per code, Notes lists the
	// first of them (WithMaxListed).
	Noted     int            `json:"noted"`
	NoteCodes map[string]int `json:"note_codes"`
	Notes     []Note         `json:"notes"`
}

// Serving reports whether an update has been applied, so the balancer has
// nodes (which may all be drained or ejected at the moment).
func (s Status) Serving() bool { return s.Generation > 0 }

// NoBackendsReason says, for a feed that has applied no update yet, why:
// the last fetch error or refusal. It is "" once an update was applied, and
// "no poll has completed yet" before the first poll.
func (s Status) NoBackendsReason() string {
	switch {
	case s.Generation > 0:
		return ""
	case s.LastError != "":
		return s.LastError
	case s.Polls == 0:
		return "no poll has completed yet"
	default:
		return "the registry has not named a node yet"
	}
}

// Reject is one rejected node of a payload.
type Reject struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Reason  string `json:"reason"`
	Raw     string `json:"raw"`
	Message string `json:"message"`
}

// Note is a decision a registry decoder made about an accepted node or the
// payload (Index -1).
type Note struct {
	Index  int    `json:"index"`
	ID     string `json:"id"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Refusal is an update that was not applied.
type Refusal struct {
	At time.Time `json:"at"`
	// Stage is where it was refused: "decode" (the payload as a whole),
	// "policy" (the weights policy, or a WithIDRule rule, refused the
	// snapshot) or "balancer" (nothing to serve, or the sink refused it: a
	// balancer refuses too large a drop of weight).
	Stage string `json:"stage"`
	Error string `json:"error"`
}

// maxShown bounds the raw value and message text kept per reject.
const maxShown = 256

func clip(s string) string {
	if len(s) <= maxShown {
		return s
	}
	cut := maxShown
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
