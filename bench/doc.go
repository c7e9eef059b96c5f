// Package bench compares safewrr's balancer with other Go weighted balancers
// on the same weight sets. It is a separate module so that the libraries it
// compares against never enter safewrr's own go.mod; a replace directive
// points it at the working tree, so it always measures the current code.
//
// The package holds no API: everything is in its tests. Run the comparison
// from this directory with
//
//	go test -run '^$' -bench . -benchmem -count 3
//
// and the sanity checks (each library's picks over a cycle are in proportion
// to the weights, so the benchmarks compare like with like) with
//
//	go test ./...
package bench
