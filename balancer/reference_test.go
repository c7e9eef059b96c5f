package balancer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// refSmooth is nginx's smooth weighted round robin written the plain way:
// O(n) per pick, state = current weights, starting at zero.
type refSmooth struct {
	w  []int64
	cw []int64
}

func newRefSmooth(ws []uint32) *refSmooth {
	r := &refSmooth{w: make([]int64, len(ws)), cw: make([]int64, len(ws))}
	for i, w := range ws {
		r.w[i] = int64(w)
	}
	return r
}

func (r *refSmooth) next() int {
	best := -1
	var total int64
	for i, w := range r.w {
		if w == 0 {
			continue
		}
		r.cw[i] += w
		total += w
		if best < 0 || r.cw[i] > r.cw[best] {
			best = i
		}
	}
	if best >= 0 {
		r.cw[best] -= total
	}
	return best
}

// refResty is resty.roundrobin's find() written the plain way: state = last
// picked node and current weight, gcd and max over the positive weights.
type refResty struct {
	w        []uint64
	last     int
	cw       uint64
	gcd, max uint64
}

func newRefResty(ws []uint32, last int) *refResty {
	r := &refResty{w: make([]uint64, len(ws)), last: last}
	for i, w := range ws {
		r.w[i] = uint64(w)
		if w > 0 {
			r.gcd = gcd(r.gcd, uint64(w))
			r.max = max(r.max, uint64(w))
		}
	}
	r.cw = r.max
	return r
}

func (r *refResty) next() int {
	if r.max == 0 {
		return -1
	}
	for {
		for i := r.last + 1; i < len(r.w); i++ {
			if r.w[i] >= r.cw {
				r.last = i
				return i
			}
		}
		r.last = -1
		if r.cw <= r.gcd {
			r.cw = r.max
		} else {
			r.cw -= r.gcd
		}
	}
}

func mkNodes(ws []uint32) []weights.Node {
	nodes := make([]weights.Node, len(ws))
	for i, w := range ws {
		nodes[i] = weights.Node{ID: fmt.Sprintf("n%d", i), Weight: w}
	}
	return nodes
}

func index(t testing.TB, b *Balancer) func() int {
	t.Helper()
	pos := map[string]int{}
	for i, n := range b.m.nodes {
		pos[n.ID] = i
	}
	return func() int {
		n, err := b.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		return pos[n.ID]
	}
}

// randomWeights draws a weight set of size n from one of several shapes.
func randomWeights(r *rand.Rand, n int) []uint32 {
	ws := make([]uint32, n)
	shape := r.IntN(6)
	for i := range ws {
		switch shape {
		case 0: // 1..100
			ws[i] = uint32(1 + r.IntN(100))
		case 1: // small, with drained nodes
			ws[i] = uint32(r.IntN(5))
		case 2: // common factor
			ws[i] = uint32(10 * (1 + r.IntN(10)))
		case 3: // equal
			ws[i] = 7
		case 4: // skewed
			ws[i] = 1
			if r.IntN(4) == 0 {
				ws[i] = uint32(1 + r.IntN(2000))
			}
		default: // mixed with zeros and a factor
			ws[i] = uint32(3 * r.IntN(12))
		}
	}
	if shape == 1 || shape == 5 {
		ws[r.IntN(n)] = uint32(1 + r.IntN(4)) // keep one serving node
		if shape == 5 {
			ws[r.IntN(n)] = 3
		}
	}
	return ws
}

func totalGCD(ws []uint32) (total, g uint64) {
	for _, w := range ws {
		total += uint64(w)
		g = gcd(g, uint64(w))
	}
	return total, g
}

// TestSequencesMatchReference compares the schedules with the plain
// algorithms over two full cycles, on random weight sets of many sizes.
func TestSequencesMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 5, 10, 17, 64, 255, 256, 257, 300, 1000}
	trials := 6
	if raceEnabled {
		sizes, trials = []int{1, 2, 3, 10, 64, 257}, 2
	}
	for _, algo := range []Algorithm{Smooth, Resty} {
		for _, n := range sizes {
			for trial := range trials {
				ws := randomWeights(r, n)
				total, g := totalGCD(ws)
				cycle := total / g
				start := r.IntN(n)
				name := fmt.Sprintf("%v/nodes=%d/trial=%d", algo, n, trial)
				t.Run(name, func(t *testing.T) {
					opts := []Option{WithAlgorithm(algo)}
					if trial%2 == 1 {
						opts = append(opts, WithStart(start))
					} else {
						start = n - 1
					}
					b, err := New(mkNodes(ws), opts...)
					if err != nil {
						t.Fatal(err)
					}
					width := uint64(1)
					if n > 256 {
						width = 2
					}
					if k := b.cur.Load().kind; (k > kindTable32) != (cycle > maxTableBytes/width) {
						t.Fatalf("cycle %d with %d-byte entries: kind %d", cycle, width, k)
					}
					if k := b.cur.Load().kind; k > kindTable32 {
						return // sequences differ by design; TestCycleProportions covers it
					}
					next := index(t, b)
					var ref func() int
					if algo == Smooth {
						ref = newRefSmooth(ws).next
					} else {
						ref = newRefResty(ws, start).next
					}
					picks := min(2*cycle+3, uint64(max(20_000, 3_000_000/n)))
					for k := uint64(0); k < picks; k++ {
						want := ref()
						if got := next(); got != want {
							t.Fatalf("weights %v: pick %d = node %d, want %d", ws, k, got, want)
						}
					}
				})
			}
		}
	}
}

// TestCycleProportions: per cycle of total/gcd picks, each node is picked
// exactly weight/gcd times, for every representation and any start.
func TestCycleProportions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	modes := []struct {
		name       string
		table, row uint64
		want       kind // for cycles over 64 entries; 0 = a table
	}{
		{"table", maxTableBytes, maxRows, 0},
		{"rows", 64, maxRows, kindRows},
		{"spread", 64, 1, kindSpread},
	}
	for _, mode := range modes {
		for _, algo := range []Algorithm{Smooth, Resty} {
			for _, n := range []int{1, 2, 7, 100, 300, 2000} {
				ws := randomWeights(r, n)
				t.Run(fmt.Sprintf("%s/%v/nodes=%d", mode.name, algo, n), func(t *testing.T) {
					oldT, oldR := tableBytes, rowLimit
					tableBytes, rowLimit = mode.table, mode.row
					defer func() { tableBytes, rowLimit = oldT, oldR }()
					b, err := New(mkNodes(ws), WithAlgorithm(algo), WithRandomStart(int64(n)))
					if err != nil {
						t.Fatal(err)
					}
					total, g := totalGCD(ws)
					cycle := total / g
					top := uint64(0)
					for _, w := range ws {
						top = max(top, uint64(w)/g)
					}
					k := b.cur.Load().kind
					switch {
					case mode.want == 0 && k > kindTable32,
						mode.want == kindRows && cycle > 64 && k != kindRows,
						mode.want == kindSpread && cycle > 64 && top > 1 && k != kindSpread:
						t.Fatalf("cycle %d, top %d: kind %d, want %d", cycle, top, k, mode.want)
					}
					next := index(t, b)
					for round := range 2 {
						counts := make([]uint64, n)
						for range cycle {
							counts[next()]++
						}
						for i, w := range ws {
							if counts[i] != uint64(w)/g {
								t.Fatalf("round %d: node %d (weight %d, gcd %d) picked %d times per cycle of %d, want %d",
									round, i, w, g, counts[i], cycle, uint64(w)/g)
							}
						}
					}
				})
			}
		}
	}
}

// TestSpreadIsEven: in the long-cycle representation a node's picks are
// spread over the cycle: no gap between two picks of a node is far above
// cycle/weight.
func TestSpreadIsEven(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sets := [][]uint32{{1000, 500, 100, 10, 1, 1, 1}, randomWeights(r, 50), randomWeights(r, 300), {997, 1, 2, 3, 5, 8, 13}}
	for k := range 2 * len(sets) {
		ws, row := sets[k/2], []uint64{maxRows, 1}[k%2]
		oldT, oldR := tableBytes, rowLimit
		tableBytes, rowLimit = 64, row
		b, err := New(mkNodes(ws))
		tableBytes, rowLimit = oldT, oldR
		if err != nil {
			t.Fatal(err)
		}
		next := index(t, b)
		total, _ := totalGCD(ws)
		lastAt := make([]int, len(ws))
		for i := range lastAt {
			lastAt[i] = -1
		}
		worst := make([]int, len(ws))
		for k := range 2 * int(total) {
			i := next()
			if lastAt[i] >= 0 {
				worst[i] = max(worst[i], k-lastAt[i])
			}
			lastAt[i] = k
		}
		for i, w := range ws {
			ideal := float64(total) / float64(w)
			if w > 0 && float64(worst[i]) > 3*ideal+float64(len(ws)) {
				t.Errorf("kind %d: node %d weight %d: largest gap %d picks, ideal %.1f", b.cur.Load().kind, i, w, worst[i], ideal)
			}
		}
	}
}

// TestTable32 covers the four-byte table: over 65,536 members, few serving.
func TestTable32(t *testing.T) {
	ws := make([]uint32, 70000)
	step := 7
	if raceEnabled {
		step = 50
	}
	for i := 0; i < len(ws); i += step {
		ws[i] = uint32(1 + i%3)
	}
	for _, algo := range []Algorithm{Smooth, Resty} {
		b, err := New(mkNodes(ws), WithAlgorithm(algo))
		if err != nil {
			t.Fatal(err)
		}
		if k := b.cur.Load().kind; k != kindTable32 {
			t.Fatalf("kind %d, want table32", k)
		}
		next := index(t, b)
		var ref func() int
		if algo == Smooth {
			ref = newRefSmooth(ws).next
		} else {
			ref = newRefResty(ws, len(ws)-1).next
		}
		checks := 3000
		if raceEnabled {
			checks = 200
		}
		for k := range checks {
			if got, want := next(), ref(); got != want {
				t.Fatalf("%v pick %d = %d want %d", algo, k, got, want)
			}
		}
	}
}

// refRestyOps is resty.roundrobin with its update operations (new, find,
// set, incr, decr, delete, reinit), written from their documented
// behaviour: nodes in iteration order with positive weights, the last
// picked id ("" for nil) and the current weight. A set of one node is
// returned at once without touching the state; delete clears the last id
// when it deletes that node; delete and decr cap the current weight at the
// new maximum; incr changes neither.
type refRestyOps struct {
	ids           []string
	w             []uint64
	last          string
	cw, gcd, maxW uint64
}

func (r *refRestyOps) recompute() {
	r.gcd, r.maxW = 0, 0
	for _, w := range r.w {
		r.gcd = gcd(r.gcd, w)
		r.maxW = max(r.maxW, w)
	}
}

func (r *refRestyOps) at(id string) int { return slices.Index(r.ids, id) }

func (r *refRestyOps) find() string {
	if len(r.ids) == 1 {
		return r.ids[0]
	}
	i := r.at(r.last) + 1 // 0 when last is nil
	cw := r.cw
	for {
		for ; i < len(r.ids); i++ {
			if r.w[i] >= cw {
				r.last, r.cw = r.ids[i], cw
				return r.ids[i]
			}
		}
		i = 0
		if cw <= r.gcd {
			cw = r.maxW
		} else {
			cw -= r.gcd
		}
	}
}

func (r *refRestyOps) cap() {
	if r.cw > r.maxW {
		r.cw = r.maxW
	}
}

func (r *refRestyOps) delete(id string) {
	i := r.at(id)
	r.ids, r.w = slices.Delete(r.ids, i, i+1), slices.Delete(r.w, i, i+1)
	r.recompute()
	if id == r.last {
		r.last = ""
	}
	r.cap()
}

func (r *refRestyOps) set(id string, w uint64) {
	i := r.at(id)
	switch {
	case i < 0 && w == 0:
	case i < 0: // incr of a new id
		r.ids, r.w = append(r.ids, id), append(r.w, w)
		r.recompute()
	case w == 0:
		r.delete(id)
	case w > r.w[i]: // incr
		r.w[i] = w
		r.recompute()
	case w < r.w[i]: // decr
		r.w[i] = w
		r.recompute()
		r.cap()
	}
}

func (r *refRestyOps) reinit(ids []string, ws []uint64) {
	r.ids, r.w = ids, ws
	r.recompute()
	r.last, r.cw = ids[len(ids)-1], r.maxW
}

func (r *refRestyOps) nodes() []weights.Node {
	nodes := make([]weights.Node, len(r.ids))
	for i, id := range r.ids {
		nodes[i] = weights.Node{ID: id, Weight: uint32(r.w[i])}
	}
	return nodes
}

// TestRestyUpdatesLikeResty: after each of a random script of resty's
// update operations, Update with the resulting set (in resty's iteration
// order) makes Resty continue exactly as resty's find() does: deleting the
// last picked node, a maximum falling below the current weight, gcd
// changes, a set of one node and all-new sets (reinit) included. Half the
// deletes are made as ejections instead (followed by Sync): the same
// operation on the effective weights.
func TestRestyUpdatesLikeResty(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	fresh := 0
	newID := func() string { fresh++; return fmt.Sprintf("n%d", fresh) }
	weight := func() uint64 {
		if r.IntN(2) == 0 {
			return uint64(1+r.IntN(4)) * []uint64{1, 2, 6}[r.IntN(3)]
		}
		return uint64(1 + r.IntN(30))
	}
	for trial := range 500 {
		ref := &refRestyOps{}
		n := 1 + r.IntN(8)
		for range n {
			ref.ids, ref.w = append(ref.ids, newID()), append(ref.w, weight())
		}
		start := r.IntN(n)
		ref.recompute()
		ref.last, ref.cw = ref.ids[start], ref.maxW
		clk := clocktest.New()
		b, err := New(ref.nodes(), WithAlgorithm(Resty), WithStart(start), WithClock(clk.Now), WithMaxEjectedPercent(100))
		if err != nil {
			t.Fatal(err)
		}
		var script []string
		for step := range 30 {
			for k := range r.IntN(2 * len(ref.ids)) {
				nd, err := b.Next()
				if err != nil {
					t.Fatal(err)
				}
				if want := ref.find(); nd.ID != want {
					t.Fatalf("trial %d step %d pick %d: %s, resty %s; script %v; now %v last=%q cw=%d", trial, step, k, nd.ID, want, script, ref.ids, ref.last, ref.cw)
				}
			}
			id := ref.ids[r.IntN(len(ref.ids))]
			switch op := r.IntN(10); {
			case op < 3:
				w := weight()
				script = append(script, fmt.Sprintf("set(%s,%d)", id, w))
				ref.set(id, w)
			case op < 5 && len(ref.ids) > 1:
				script = append(script, "delete("+id+")")
				ref.delete(id)
				if r.IntN(2) == 0 {
					// The same delete as an ejection: the node stays a
					// member with effective weight 0.
					if err := b.Eject(id, clk.Now().Add(time.Hour)); err != nil {
						t.Fatal(err)
					}
					b.Sync()
					script[len(script)-1] = "eject(" + id + ")"
					continue
				}
			case op < 8:
				id = newID()
				w := weight()
				script = append(script, fmt.Sprintf("set(%s,%d)", id, w))
				ref.set(id, w)
			case op < 9:
				var ids []string
				var ws []uint64
				for range 1 + r.IntN(6) {
					ids, ws = append(ids, newID()), append(ws, weight())
				}
				script = append(script, fmt.Sprintf("reinit(%v,%v)", ids, ws))
				ref.reinit(ids, ws)
			default:
				w := max(ref.w[ref.at(id)]/2, 1)
				script = append(script, fmt.Sprintf("set(%s,%d)", id, w))
				ref.set(id, w)
			}
			if err := b.Update(ref.nodes()); err != nil {
				t.Fatalf("trial %d: Update: %v; script %v", trial, err, script)
			}
			clk.Advance(time.Hour) // ejections end; the nodes left the set
		}
	}
}
