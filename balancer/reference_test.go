package balancer

import (
	"fmt"
	"math/rand/v2"
	"testing"

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
	for i, n := range b.nodes {
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

// TestRestyUpdateCarriesState: after an update, Resty continues like
// resty.roundrobin's find() from the state it had reached: after the last
// picked node (or the nearest earlier one that stayed), at the same current
// weight rounded up to the new gcd, or at the new maximum from the first
// node when the current weight is above it.
func TestRestyUpdateCarriesState(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for trial := range 300 {
		n := 1 + r.IntN(12)
		ws := randomWeights(r, n)
		nodes := mkNodes(ws)
		b, err := New(nodes, WithAlgorithm(Resty), WithStart(r.IntN(n)))
		if err != nil {
			t.Fatal(err)
		}
		ref := newRefResty(ws, b.cfg.start)
		next := index(t, b)
		for range 1 + r.IntN(40) {
			next()
			ref.next()
		}
		// A new set: some nodes leave, weights change, new nodes join.
		var nodes2 []weights.Node
		for _, nd := range nodes {
			switch r.IntN(5) {
			case 0: // leaves
			case 1:
				nodes2 = append(nodes2, weights.Node{ID: nd.ID, Weight: uint32(r.IntN(30))})
			default:
				nodes2 = append(nodes2, nd)
			}
		}
		if r.IntN(2) == 0 {
			nodes2 = append(nodes2, weights.Node{ID: fmt.Sprintf("new%d", trial), Weight: uint32(1 + r.IntN(30))})
		}
		ws2 := make([]uint32, len(nodes2))
		pos2 := map[string]int{}
		for i, nd := range nodes2 {
			ws2[i] = nd.Weight
			pos2[nd.ID] = i
		}
		if err := b.Update(nodes2); err != nil {
			continue // refused (nothing serving); covered elsewhere
		}
		last := -1
		for j := ref.last; j >= 0 && last < 0; j-- {
			if i, ok := pos2[nodes[j].ID]; ok {
				last = i
			}
		}
		ref2 := newRefResty(ws2, last)
		cw := (ref.cw + ref2.gcd - 1) / ref2.gcd * ref2.gcd
		if cw > ref2.max {
			cw, ref2.last = ref2.max, -1
		}
		ref2.cw = cw
		at := map[string]int{}
		for i, nd := range b.nodes {
			at[nd.ID] = i
		}
		for k := range 60 {
			nd, err := b.Next()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := at[nd.ID], ref2.next(); got != want {
				t.Fatalf("trial %d: %v -> %v (state last=%d cw=%d): pick %d after the update = %d, want %d",
					trial, ws, ws2, ref.last, ref.cw, k, got, want)
			}
		}
	}
}
