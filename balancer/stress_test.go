package balancer

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/clocktest"
	"github.com/safewrr/safewrr/weights"
)

// TestConcurrentStress picks on every core while another goroutine updates,
// ejects, restores and moves the clock, so picks run during background
// builds. Node n05 is ejected for longer than the test and never restored:
// no pick may return it, whatever the updates drop and add again. Bounded
// in count; run it with -race.
func TestConcurrentStress(t *testing.T) {
	for _, algo := range []Algorithm{Smooth, Resty} {
		t.Run(algo.String(), func(t *testing.T) {
			clk := clocktest.New()
			universe := make([]weights.Node, 40)
			for i := range universe {
				universe[i] = weights.Node{ID: fmt.Sprintf("n%02d", i), Weight: uint32(1 + i%9)}
				if i%10 == 3 {
					universe[i] = weights.Node{ID: fmt.Sprintf("z%02d", i)} // always drained
				}
			}
			b, err := New(universe[:20], WithAlgorithm(algo), WithClock(clk.Now), WithSlowStart(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			const held = "n05"
			if err := b.Eject(held, clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			const pickers, picksEach, changes = 4, 5000, 300
			var wg sync.WaitGroup
			errs := make(chan error, pickers+1)
			for p := range max(pickers, runtime.GOMAXPROCS(0)) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range picksEach {
						if k%3 == 0 {
							var tried Tried
							for range 3 {
								n, err := b.NextExcluding(&tried)
								if err != nil {
									if err == ErrAllExcluded {
										break
									}
									errs <- fmt.Errorf("picker %d: NextExcluding: %v", p, err)
									return
								}
								if strings.HasPrefix(n.ID, "z") || n.Weight == 0 || n.ID == held {
									errs <- fmt.Errorf("picker %d: drained or ejected node %v", p, n)
									return
								}
							}
							continue
						}
						n, err := b.Next()
						if err != nil {
							errs <- fmt.Errorf("picker %d: Next: %v", p, err)
							return
						}
						if strings.HasPrefix(n.ID, "z") || n.Weight == 0 || n.ID == held {
							errs <- fmt.Errorf("picker %d: drained or ejected node %v", p, n)
							return
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(7, uint64(algo)))
				for k := range changes {
					switch k % 4 {
					case 0:
						lo := r.IntN(20)
						set := universe[lo : lo+5+r.IntN(16)]
						if err := b.Update(set); err != nil {
							errs <- fmt.Errorf("Update: %v", err)
							return
						}
					case 1:
						st := b.States()
						_ = b.Eject(st[r.IntN(len(st))].ID, clk.Now().Add(time.Duration(r.IntN(3000))*time.Millisecond))
					case 2:
						st := b.States()
						if id := st[r.IntN(len(st))].ID; id != held {
							_ = b.Restore(id)
						}
					default:
						clk.Advance(time.Duration(r.IntN(500)) * time.Millisecond)
					}
				}
			}()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			b.Sync()
			b.builds.Wait()
			if !b.upToDate() {
				t.Error("schedule behind the state after Sync")
			}
			if st, ok := b.State(held); ok && st.State != Ejected {
				t.Errorf("%s: %v after the churn, want ejected", held, st.State)
			}
		})
	}
}
