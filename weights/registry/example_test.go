package registry_test

import (
	"fmt"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// A Bilibili discovery response: the registry sends weights as strings in a
// metadata map. Its SDK reads "" as its default, 10; the string "0" is
// rejected whatever the registry's convention; status 2 drains.
func ExampleDecode() {
	payload := []byte(`{"code":0,"data":{"instances":{"sh001":[
		{"hostname":"a","addrs":["grpc://10.0.0.1:9000"],"status":1,"metadata":{"weight":"20"}},
		{"hostname":"b","addrs":["grpc://10.0.0.2:9000"],"status":1,"metadata":{"weight":"0"}},
		{"hostname":"c","addrs":["grpc://10.0.0.3:9000"],"status":1,"metadata":{"weight":""}},
		{"hostname":"d","addrs":["grpc://10.0.0.4:9000"],"status":2,"metadata":{"weight":"20"}}]}}}`)
	snap, rep, err := registry.Decode(registry.FormatDiscovery, payload, registry.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range snap.Nodes {
		fmt.Println(n.ID, n.Weight)
	}
	for _, e := range rep.Rejected {
		fmt.Println("rejected", e.ID, e.Reason)
	}
	for _, n := range rep.Notes {
		fmt.Println(n.ID, n.Code)
	}
	// Output:
	// 10.0.0.1:9000 20
	// 10.0.0.3:9000 10
	// 10.0.0.4:9000 0
	// rejected 10.0.0.2:9000 string-zero
	// 10.0.0.3:9000 defaulted
	// 10.0.0.4:9000 drained
}

// FormatAuto tells the registry from the payload's shape and says which it
// chose in Report.Format. Nacos weights are floats, scaled by 100.
func ExampleDecodeFormat() {
	payload := []byte(`{"name":"DEFAULT_GROUP@@orders","hosts":[
		{"ip":"10.0.0.1","port":8080,"weight":1.0,"healthy":true,"enabled":true},
		{"ip":"10.0.0.2","port":8080,"weight":0.5,"healthy":true,"enabled":true},
		{"ip":"10.0.0.3","port":8080,"weight":1.0,"healthy":false,"enabled":true}]}`)
	snap, rep, err := registry.DecodeFormat(registry.FormatAuto, payload, weights.Policy{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("format:", rep.Format)
	for _, n := range snap.Nodes {
		fmt.Println(n.ID, n.Weight, n.Drained())
	}
	// Output:
	// format: nacos
	// 10.0.0.1:8080 100 false
	// 10.0.0.2:8080 50 false
	// 10.0.0.3:8080 0 true
}

// Under FollowPolicy the registry's defaults are not applied: what the
// discovery SDK would have read as 10 is rejected.
func ExampleConvention() {
	payload := []byte(`{"code":0,"data":{"instances":{"sh001":[
		{"hostname":"a","addrs":["grpc://10.0.0.1:9000"],"status":1,"metadata":{"weight":"abc"}}]}}}`)
	for _, c := range []registry.Convention{registry.FollowRegistry, registry.FollowPolicy} {
		snap, rep, _ := registry.Decode(registry.FormatDiscovery, payload, registry.Options{Convention: c})
		fmt.Println(len(snap.Nodes), "accepted,", len(rep.Rejected), "rejected")
	}
	// Output:
	// 1 accepted, 0 rejected
	// 0 accepted, 1 rejected
}
