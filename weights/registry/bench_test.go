package registry_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// registryPayload builds a response of n instances in a format, with the
// quirks of the samples: string weights, a few unhealthy instances.
func registryPayload(f registry.Format, n int) []byte {
	var b strings.Builder
	sep := func(i int) {
		if i > 0 {
			b.WriteByte(',')
		}
	}
	switch f {
	case registry.FormatDiscovery:
		b.WriteString(`{"code":0,"data":{"instances":{"sh001":[`)
		for i := 0; i < n; i++ {
			sep(i)
			fmt.Fprintf(&b, `{"zone":"sh001","env":"prod","appid":"a.b","hostname":"h%d","addrs":["grpc://10.%d.%d.%d:9000","http://10.%d.%d.%d:8000"],"status":%d,"metadata":{"weight":"%d","cluster":""},"latest_timestamp":1626181100000000000}`,
				i, i>>16&255, i>>8&255, i&255, i>>16&255, i>>8&255, i&255, 1+btoi(i%10 == 0), 1+i%100)
		}
		b.WriteString(`]}}}`)
	case registry.FormatNacos:
		b.WriteString(`{"name":"DEFAULT_GROUP@@s","cacheMillis":10000,"hosts":[`)
		for i := 0; i < n; i++ {
			sep(i)
			fmt.Fprintf(&b, `{"ip":"10.%d.%d.%d","port":8080,"weight":%d.%d,"healthy":%v,"enabled":true,"ephemeral":true,"clusterName":"DEFAULT","metadata":{}}`,
				i>>16&255, i>>8&255, i&255, i%10, i%7, i%10 != 0)
		}
		b.WriteString(`]}`)
	case registry.FormatEDS:
		b.WriteString(`{"cluster_name":"c","endpoints":[{"locality":{"zone":"a"},"lb_endpoints":[`)
		for i := 0; i < n; i++ {
			sep(i)
			fmt.Fprintf(&b, `{"endpoint":{"address":{"socket_address":{"address":"10.%d.%d.%d","port_value":80}}},"health_status":"HEALTHY","load_balancing_weight":%d}`,
				i>>16&255, i>>8&255, i&255, 1+i%100)
		}
		b.WriteString(`]}]}`)
	}
	return []byte(b.String())
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkDecode measures a whole decode: parse, convention,
// validation, notes.
func BenchmarkDecode(b *testing.B) {
	for _, f := range []registry.Format{registry.FormatDiscovery, registry.FormatNacos, registry.FormatEDS} {
		for _, n := range []int{10, 1000, 10000} {
			data := registryPayload(f, n)
			b.Run(fmt.Sprintf("%s/nodes=%d", f, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for i := 0; i < b.N; i++ {
					s, _, err := registry.Decode(f, data, registry.Options{})
					if err != nil || len(s.Nodes) != n {
						b.Fatalf("%d nodes, %v", len(s.Nodes), err)
					}
				}
			})
		}
	}
}

// TestRegistryLimits: the node limit holds for registry payloads too.
func TestRegistryLimits(t *testing.T) {
	for _, f := range []registry.Format{registry.FormatDiscovery, registry.FormatNacos, registry.FormatEDS} {
		data := registryPayload(f, 50)
		s, _, err := registry.Decode(f, data, registry.Options{Policy: weights.Policy{Limits: weights.Limits{MaxNodes: 49}}})
		if !errors.Is(err, weights.ErrTooManyNodes) || len(s.Nodes) != 0 {
			t.Errorf("%s: 50 nodes with MaxNodes 49: %v, %d nodes; want ErrTooManyNodes", f, err, len(s.Nodes))
		}
		if _, _, err := registry.Decode(f, data, registry.Options{Policy: weights.Policy{Limits: weights.Limits{MaxNodes: 50}}}); err != nil {
			t.Errorf("%s: 50 nodes with MaxNodes 50: %v", f, err)
		}
		if _, _, err := registry.Decode(f, data, registry.Options{Policy: weights.Policy{Limits: weights.Limits{MaxBytes: 100}}}); !errors.Is(err, weights.ErrTooLarge) {
			t.Errorf("%s: MaxBytes 100: %v, want ErrTooLarge", f, err)
		}
	}
}
