package httplb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/feed"
)

// The admin endpoints' paths.
const (
	StatusPath = "/-/safewrr"
	HealthPath = "/-/health"
)

// Bounds of the admin endpoints.
const (
	// DefaultStatusWait and MaxStatusWait bound a long-poll of the status
	// page (?after=N&wait=D).
	DefaultStatusWait = 10 * time.Second
	MaxStatusWait     = 30 * time.Second
	// MaxStatusWaiters long-polls are held at once; more are answered at
	// once.
	MaxStatusWaiters = 64
	// MaxNodesListed nodes are listed on the status page (NodesTotal
	// counts them all).
	MaxNodesListed = 1000
)

// NotLoaded is why an Admin that has no feed yet has no backends: its 503s
// and its status page's last_error say it.
const NotLoaded = "the first registry poll has not completed yet"

// Admin serves the status page (StatusPath) and the health endpoint
// (HealthPath) of a proxy over a feed. It answers from the moment it is
// created: until Attach gives it a feed (feed.New returns after its first
// poll, which may be slow or fail) the health endpoint answers 503 and the
// status page says NotLoaded. Serve it on a listener of its own, apart from
// the traffic (it shows the backends and the registry's name); the zero
// value is ready to use, and it is safe for concurrent use.
//
// GET StatusPath answers the AdminStatus as JSON. With ?after=N it first
// waits (up to ?wait=D, DefaultStatusWait by default, MaxStatusWait at
// most) until more than N polls have completed; at most MaxStatusWaiters
// such waits are held at once. GET HealthPath answers 200 "ok: N of M nodes
// serving" when a node can take a request, and 503 with the reason when
// none can (no registry data yet, every node drained or ejected).
type Admin struct {
	// Policy is shown on the status page (the weights policy's name).
	Policy string
	// Now is the clock of the status page's time; nil means time.Now.
	Now func() time.Time

	state   atomic.Pointer[adminState]
	waiters atomic.Int32
}

type adminState struct {
	f  *feed.Feed
	lb *balancer.Balancer
	tr *Transport
}

// Attach makes a serve the state of f, the nodes of lb (the balancer the
// feed updates) and the counters of tr (which may be nil: a proxy that is
// not a Transport shows none).
func (a *Admin) Attach(f *feed.Feed, lb *balancer.Balancer, tr *Transport) {
	a.state.Store(&adminState{f: f, lb: lb, tr: tr})
}

// AdminNode is one node on the status page.
type AdminNode struct {
	ID           string     `json:"id"`
	Weight       uint32     `json:"weight"`
	Effective    uint32     `json:"effective"`
	State        string     `json:"state"`
	EjectedUntil *time.Time `json:"ejected_until,omitempty"`
	RampEnd      *time.Time `json:"ramp_end,omitempty"`
}

// AdminStatus is the status page: the feed's status, the live nodes (the
// first MaxNodesListed) and the transport's counters.
type AdminStatus struct {
	Policy     string      `json:"policy"`
	Now        time.Time   `json:"now"`
	Nodes      []AdminNode `json:"nodes"`
	NodesTotal int         `json:"nodes_total"`
	// Ejections counts the nodes the transport ejected.
	Ejections int64 `json:"ejections"`
	// BodyFailures counts responses whose body broke off mid-way or was
	// cut off by the request timeout while the proxy waited for the
	// backend (each also a failure of its node).
	BodyFailures int64 `json:"body_failures"`
	// Failures counts the failed attempts charged to nodes; ClientErrors
	// the requests that failed because of the client's request (a body
	// that could not be read or was too large, a bad trailer, a client
	// that went away), which charge no node.
	Failures     int64 `json:"failures"`
	ClientErrors int64 `json:"client_errors"`
	// Unbuffered counts request bodies streamed because the buffer budget
	// was spent (WithBufferBudget).
	Unbuffered int64 `json:"unbuffered"`
	// Streaming is the number of request bodies streaming to backends now;
	// StreamRefused counts the requests answered 503 because
	// WithMaxStreamed's cap on them was reached.
	Streaming     int64 `json:"streaming"`
	StreamRefused int64 `json:"stream_refused"`
	feed.Status
}

func (a *Admin) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// ServeHTTP serves StatusPath and HealthPath; any other path is 404.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case StatusPath, HealthPath:
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path == HealthPath {
		a.health(w)
		return
	}
	a.status(w, r)
}

func (a *Admin) status(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st := a.state.Load()
	if s := q.Get("after"); s != "" {
		after, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			http.Error(w, "after: want a number of polls", http.StatusBadRequest)
			return
		}
		wait := DefaultStatusWait
		if s := q.Get("wait"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				http.Error(w, "wait: want a duration such as 5s", http.StatusBadRequest)
				return
			}
			wait = min(d, MaxStatusWait)
		}
		if a.waiters.Add(1) <= MaxStatusWaiters && wait > 0 && st != nil {
			ctx, cancel := context.WithTimeout(r.Context(), wait)
			st.f.Wait(ctx, after)
			cancel()
		}
		a.waiters.Add(-1)
	}
	out := AdminStatus{Policy: a.Policy, Now: a.now(), Nodes: []AdminNode{}}
	code := http.StatusOK
	if st == nil {
		code = http.StatusServiceUnavailable
		out.Status = feed.Status{LastError: NotLoaded, Reasons: map[string]int{}, Rejects: []feed.Reject{}, NoteCodes: map[string]int{}, Notes: []feed.Note{}}
	} else {
		out.Status = st.f.Status()
		if st.tr != nil {
			out.Ejections, out.BodyFailures = st.tr.Ejections(), st.tr.BodyFailures()
			out.Failures, out.ClientErrors, out.Unbuffered = st.tr.Failures(), st.tr.ClientErrors(), st.tr.Unbuffered()
			out.Streaming, out.StreamRefused = st.tr.Streaming(), st.tr.StreamRefused()
		}
		states := st.lb.States()
		out.NodesTotal = len(states)
		for _, s := range states[:min(len(states), MaxNodesListed)] {
			n := AdminNode{ID: s.ID, Weight: s.Weight, Effective: s.Effective, State: s.State.String()}
			if !s.EjectedUntil.IsZero() {
				t := s.EjectedUntil
				n.EjectedUntil = &t
			}
			if !s.RampEnd.IsZero() {
				t := s.RampEnd
				n.RampEnd = &t
			}
			out.Nodes = append(out.Nodes, n)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func (a *Admin) health(w http.ResponseWriter) {
	st := a.state.Load()
	if st == nil {
		http.Error(w, "no backends yet: "+NotLoaded, http.StatusServiceUnavailable)
		return
	}
	fs := st.f.Status()
	if why := fs.NoBackendsReason(); why != "" {
		http.Error(w, "no backends yet: "+why, http.StatusServiceUnavailable)
		return
	}
	serving := 0
	for _, s := range st.lb.States() {
		if s.Effective > 0 {
			serving++
		}
	}
	if serving == 0 {
		http.Error(w, "no backend can serve now: every node is drained or ejected", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, "ok: %d of %d nodes serving, generation %d\n", serving, st.lb.Len(), fs.Generation)
}
