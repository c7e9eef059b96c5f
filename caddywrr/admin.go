package caddywrr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/safewrr/safewrr/balancer/httplb"
	"github.com/safewrr/safewrr/feed"
)

func init() {
	caddy.RegisterModule(Admin{})
}

// sources are the provisioned safewrr upstream sources by name, for the
// admin API.
var sources struct {
	sync.Mutex
	byName map[string]*shared
}

// register adds sh under a name (the source's, redacted, by default; a
// name taken by another source gets a "#2", "#3", ... suffix) and returns
// the name.
func register(base string, sh *shared) string {
	if base == "" {
		base = sh.feed.Source().String()
	}
	sources.Lock()
	defer sources.Unlock()
	if sources.byName == nil {
		sources.byName = map[string]*shared{}
	}
	name := base
	for i := 2; sources.byName[name] != nil; i++ {
		name = base + "#" + strconv.Itoa(i)
	}
	sources.byName[name] = sh
	return name
}

func unregister(name string, sh *shared) {
	sources.Lock()
	defer sources.Unlock()
	if sources.byName[name] == sh {
		delete(sources.byName, name)
	}
}

// Admin is the admin API module admin.api.safewrr. It serves, on Caddy's
// admin endpoint:
//
//	GET /safewrr/status                every safewrr source: name, serving nodes, feed status
//	GET /safewrr/source?name=NAME      one source's status page (httplb.Admin's): the feed's
//	                                   status and every node's state, weight and ejection;
//	                                   ?after=N&wait=D long-polls for the next poll
//	GET /safewrr/health?name=NAME      200 when a node of the source can serve, else 503 with why
//
// The feed status holds polls, the outcome of the last poll, the last error
// and refused update, and the latest payload's rejects with their reasons.
type Admin struct{}

// CaddyModule returns the Caddy module information.
func (Admin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.safewrr",
		New: func() caddy.Module { return new(Admin) },
	}
}

// Routes returns the admin routes.
func (Admin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/safewrr/", Handler: caddy.AdminHandlerFunc(serveStatus)}}
}

// SourceStatus is one source on the status page.
type SourceStatus struct {
	Name    string       `json:"name"`
	Serving []NodeWeight `json:"serving"`
	Status  feed.Status  `json:"status"`
}

// NodeWeight is a node of the applied update.
type NodeWeight struct {
	ID     string `json:"id"`
	Weight uint32 `json:"weight"`
}

// Statuses returns the status of every provisioned safewrr upstream
// source, by name.
func Statuses() []SourceStatus {
	sources.Lock()
	list := make([]SourceStatus, 0, len(sources.byName))
	for name, u := range sources.byName {
		list = append(list, SourceStatus{Name: name, Status: u.feed.Status()})
	}
	sources.Unlock()
	slices.SortFunc(list, func(a, b SourceStatus) int { return strings.Compare(a.Name, b.Name) })
	for i := range list {
		list[i].Serving = make([]NodeWeight, 0, len(list[i].Status.Nodes))
		for _, nd := range list[i].Status.Nodes {
			list[i].Serving = append(list[i].Serving, NodeWeight{ID: nd.ID, Weight: nd.Weight})
		}
	}
	return list
}

func serveStatus(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethod}
	}
	var path string
	switch r.URL.Path {
	case "/safewrr/status":
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(map[string]any{"sources": Statuses()})
	case "/safewrr/source":
		path = httplb.StatusPath
	case "/safewrr/health":
		path = httplb.HealthPath
	default:
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errNotFound}
	}
	name := r.URL.Query().Get("name")
	sources.Lock()
	u := sources.byName[name]
	sources.Unlock()
	if u == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("caddywrr: no safewrr source named %q (GET /safewrr/status lists them)", name)}
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	u.admin.ServeHTTP(w, r2)
	return nil
}

type adminError string

func (e adminError) Error() string { return string(e) }

const (
	errNotFound adminError = "caddywrr: not found; GET /safewrr/status, /safewrr/source?name=NAME or /safewrr/health?name=NAME"
	errMethod   adminError = "caddywrr: method not allowed; use GET"
)

var _ caddy.AdminRouter = Admin{}
