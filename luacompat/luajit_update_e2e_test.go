//go:build e2e

package luacompat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// updateScript builds a random script of resty.roundrobin operations for
// the driver's updates mode: picks between set, incr, decr and delete of
// existing and new nodes and reinit with all-new nodes, never leaving the
// set empty (resty cannot delete its only node). It keeps its own id ->
// weight view only to choose valid operations.
func updateScript(r *rand.Rand, fresh *int) string {
	newID := func() string { *fresh++; return "n" + strconv.Itoa(*fresh) }
	weight := func() int {
		if r.IntN(2) == 0 {
			return (1 + r.IntN(4)) * []int{1, 2, 6}[r.IntN(3)] // shared factors: gcd changes
		}
		return 1 + r.IntN(30)
	}
	w := map[string]int{}
	var ids []string // insertion order, for choosing only
	spec := func(ns []string) string {
		parts := make([]string, len(ns))
		for i, id := range ns {
			parts[i] = fmt.Sprintf("%s=%d", id, w[id])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	remove := func(id string) {
		delete(w, id)
		ids = slices.DeleteFunc(ids, func(s string) bool { return s == id })
	}
	for range 1 + r.IntN(8) {
		id := newID()
		w[id] = weight()
		ids = append(ids, id)
	}
	ops := []string{fmt.Sprintf("new %d %s", r.IntN(len(ids)), spec(ids))}
	for range 20 + r.IntN(20) {
		ops = append(ops, fmt.Sprintf("pick %d", r.IntN(2*len(ids)+1)))
		id := ids[r.IntN(len(ids))]
		switch op := r.IntN(12); {
		case op < 3: // set an existing node: incr or decr
			nw := weight()
			w[id] = nw
			ops = append(ops, fmt.Sprintf("set %s %d", id, nw))
		case op < 4 && len(ids) > 1: // set to 0: delete
			remove(id)
			ops = append(ops, fmt.Sprintf("set %s 0", id))
		case op < 6 && len(ids) > 1:
			remove(id)
			ops = append(ops, "delete "+id)
		case op < 7:
			d := 1 + r.IntN(10)
			if w[id] <= d && len(ids) == 1 {
				d = w[id] - 1
			}
			if d == 0 {
				continue
			}
			if w[id] <= d {
				remove(id)
			} else {
				w[id] -= d
			}
			ops = append(ops, fmt.Sprintf("decr %s %d", id, d))
		case op < 8:
			d := 1 + r.IntN(10)
			w[id] += d
			ops = append(ops, fmt.Sprintf("incr %s %d", id, d))
		case op < 11: // a new node
			id = newID()
			w[id] = weight()
			ids = append(ids, id)
			ops = append(ops, fmt.Sprintf("set %s %d", id, w[id]))
		default: // reinit with all-new nodes
			w, ids = map[string]int{}, nil
			for range 1 + r.IntN(6) {
				id := newID()
				w[id] = weight()
				ids = append(ids, id)
			}
			ops = append(ops, "reinit "+spec(ids))
		}
	}
	return strings.Join(ops, "; ")
}

// TestLuaJITRestyUpdates runs random scripts of resty.roundrobin's update
// operations on the resty-roundrobin-2021 model under LuaJIT and replays
// each on a Resty balancer: New with the model's nodes in LuaJIT's order
// (starting after the same node), Update with the model's nodes after every
// operation, and the same picks. Every pick must be the model's.
func TestLuaJITRestyUpdates(t *testing.T) {
	bin, dir := luajit(t)
	const scripts = 1000
	r := rand.New(rand.NewPCG(12, 2021))
	fresh := 0
	var in bytes.Buffer
	all := make([]string, scripts)
	for i := range all {
		all[i] = updateScript(r, &fresh)
		fmt.Fprintf(&in, "%s\t%s\n", Resty2021, all[i])
	}
	scriptFile := filepath.Join(t.TempDir(), "scripts.txt")
	if err := os.WriteFile(scriptFile, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, filepath.Join("testdata", "luajit_driver.lua"), dir, "updates", scriptFile).Output()
	if err != nil {
		t.Fatalf("luajit driver: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, ops, picks := 0, 0, 0
	for sc.Scan() {
		if n >= scripts {
			t.Fatalf("driver answered more than %d scripts", scripts)
		}
		o, p := replayUpdates(t, n, all[n], strings.Split(sc.Text(), "\t"))
		ops, picks = ops+o, picks+p
		n++
	}
	if n != scripts {
		t.Fatalf("driver answered %d scripts of %d", n, scripts)
	}
	t.Logf("%d scripts, %d update operations, %d picks: LuaJIT's model and Resty agree", n, ops, picks)
}

// replayUpdates replays one script's driver answer on a Resty balancer and
// returns how many updates and picks it compared.
func replayUpdates(t *testing.T, k int, script string, fields []string) (updates, picks int) {
	t.Helper()
	steps := strings.Split(script, "; ")
	if len(fields) != len(steps) {
		t.Fatalf("script %d: %d answers for %d operations: %q", k, len(fields), len(steps), fields)
	}
	var b *balancer.Balancer
	for i, f := range fields {
		step := steps[i]
		switch f[0] {
		case 'E':
			t.Fatalf("script %d op %d (%s): LuaJIT: %s", k, i, step, f[1:])
		case 'O':
			var nodes []weights.Node
			for _, kv := range strings.Split(f[1:], "\x1f") {
				id, w, _ := strings.Cut(kv, "=")
				n, err := strconv.ParseUint(w, 10, 32)
				if err != nil {
					t.Fatalf("script %d op %d: weight %q", k, i, kv)
				}
				nodes = append(nodes, weights.Node{ID: id, Weight: uint32(n)})
			}
			if i == 0 {
				start, _ := strconv.Atoi(strings.Fields(step)[1])
				var err error
				if b, err = balancer.New(nodes, balancer.WithAlgorithm(balancer.Resty), balancer.WithStart(start)); err != nil {
					t.Fatalf("script %d: New: %v", k, err)
				}
				continue
			}
			if err := b.Update(nodes); err != nil {
				t.Fatalf("script %d op %d (%s): Update: %v", k, i, step, err)
			}
			updates++
		case 'P':
			var want []string
			if len(f) > 1 {
				want = strings.Split(f[1:], "\x1f")
			}
			for j, id := range want {
				nd, err := b.Next()
				if err != nil || nd.ID != id {
					t.Fatalf("script %d op %d (%s) pick %d: Resty %q (%v), LuaJIT %q\nscript: %s", k, i, step, j, nd.ID, err, id, script)
				}
			}
			picks += len(want)
		default:
			t.Fatalf("script %d: driver field %q", k, f)
		}
	}
	return updates, picks
}
