package bench

import (
	"github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// safewrr's balancer, smooth algorithm (the default), first in the table.
func init() {
	libs = append([]lib{{
		name:       "safewrr",
		sizes:      allSizes,
		concurrent: true, // lock-free picks
		smooth:     true,
		build:      newSafewrr,
	}}, libs...)
}

type safewrrPicker struct{ b *balancer.Balancer }

func newSafewrr(nodes []weights.Node) (picker, error) {
	b, err := balancer.New(nodes)
	if err != nil {
		return nil, err
	}
	return safewrrPicker{b}, nil
}

func (p safewrrPicker) Next() string {
	n, err := p.b.Next()
	if err != nil {
		panic(err)
	}
	return n.ID
}
